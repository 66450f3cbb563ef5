import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (package) root: the nearest directory above this file holding package.json. */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find package.json above ${start}`);
    dir = parent;
  }
}

/** Directory the native build writes to (addon and BPF objects). */
export const buildDir: string = join(packageRoot, 'build', 'Release');

/** Where each running instance keeps its pid file and control socket. */
export const defaultRunDir = '/run/lbctl';
