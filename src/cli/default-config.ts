import { existsSync } from 'node:fs';
import { LbctlError } from '../errors.js';

/** Where `lbctl up` and `lbctl validate` look without a file argument, in order. */
export const DEFAULT_CONFIG_PATHS: readonly string[] = [
  '/etc/lbctl/lbctl.yaml',
  '/etc/keepalived/keepalived.conf',
];

/** `file` if given, else the first default that exists. */
export function resolveConfigPath(
  file: string | undefined,
  candidates: readonly string[] = DEFAULT_CONFIG_PATHS,
): string {
  if (file !== undefined) return file;
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new LbctlError(
      'NO_CONFIGURATION',
      `Cannot find a configuration: none of ${candidates.join(', ')} exists (give a file)`,
    );
  }
  return found;
}
