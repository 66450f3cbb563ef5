import * as abi from '../../../src/dataplane/abi.js';
import { connEntries, connOffset } from '../../../src/dataplane/conn-table.js';
import type { XdpDataPlane } from '../../../src/dataplane/xdp/xdp-dataplane.js';

/** Moves every occupied connection entry into the past by `ageNs`. */
export function ageConnections(plane: XdpDataPlane, ageNs: bigint): void {
  const map = plane.map('conns');
  const sets = new Set(connEntries(map).map((e) => e.set));
  for (const set of sets) {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(set);
    const value = Buffer.from(map.lookup(key)!);
    for (const e of connEntries(map).filter((x) => x.set === set)) {
      const at = connOffset(e.way) + abi.conn.offsetOf('last_seen_ns');
      value.writeBigUInt64LE(value.readBigUInt64LE(at) - ageNs, at);
    }
    map.update(key, value);
  }
}
