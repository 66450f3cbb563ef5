/**
 * Checks the maps an earlier run pinned against what this start needs before
 * libbpf reuses them: a table of another size (a changed connectionTableSize,
 * more services or reals) or layout (another lbctl version) cannot be reused,
 * and the kernel would only say "invalid argument". The error names the map,
 * both shapes and the way out; nothing is ever reused at the wrong size.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '../../bpf/index.js';
import { LbctlError } from '../../errors.js';
import * as abi from '../abi.js';

/** What this start needs of one map: key and value size, and entries when sized before load. */
export interface MapShape {
  readonly key: number;
  readonly value: number;
  readonly maxEntries?: number;
}

function describe(name: string, keySize: number, valueSize: number, maxEntries: number): string {
  if (name === abi.MAPS.conns) {
    const ways = Math.floor(valueSize / abi.connSlot.size);
    return `${(maxEntries * ways).toLocaleString('en-US')} connections in sets of ${ways}`;
  }
  return `${maxEntries.toLocaleString('en-US')} entries of ${keySize}-byte keys and ${valueSize}-byte values`;
}

/** Throws DATAPLANE_PINNED_MISMATCH for the first pinned map under `pinDir` that differs from `want`. */
export function checkPinnedLayout(pinDir: string, want: Readonly<Record<string, MapShape>>): void {
  for (const [name, shape] of Object.entries(want)) {
    const path = join(pinDir, name);
    if (!existsSync(path)) continue;
    const map = BpfMap.openPinned(path);
    const { keySize, valueSize, maxEntries } = map.info;
    map.close();
    const entries = shape.maxEntries ?? maxEntries;
    if (keySize === shape.key && valueSize === shape.value && maxEntries === entries) continue;
    throw new LbctlError(
      'DATAPLANE_PINNED_MISMATCH',
      `Cannot reuse ${path}: an earlier run pinned it with ${describe(name, keySize, valueSize, maxEntries)}, ` +
        `this start needs ${describe(name, shape.key, shape.value, entries)}. ` +
        `Start with the earlier settings, or remove ${pinDir} to start with empty tables ` +
        '(TCP connections in progress through this director are then reset, as after a failover without ' +
        'connection sync; see docs/data-plane.md, "Pin layout")',
    );
  }
}
