import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

export const version = (
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** Runs a command from the checkout; its output, or an error with its stderr. */
export function sh(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: packageRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 170_000,
  });
}
