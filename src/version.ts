import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

let cached: string | undefined;

/** lbctl's version, from its package.json (read once). */
export function lbctlVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
  ).version;
  return cached;
}
