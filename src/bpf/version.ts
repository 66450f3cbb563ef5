import { native } from './addon.js';

/** Version of the libbpf the addon is linked against, e.g. "v1.1". */
export function libbpfVersion(): string {
  return native().libbpfVersion();
}
