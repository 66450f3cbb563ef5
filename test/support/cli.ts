import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

/** Arguments for `node` that run the built lbctl CLI. */
export function lbctlCommand(): string[] {
  return [join(packageRoot, 'bin', 'lbctl')];
}
