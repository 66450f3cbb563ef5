/**
 * The connection table's layout as user space sees it: lb_conns is an array
 * of sets of CONN_WAYS entries (see bpf/include/lb_abi.h). These helpers size
 * it and read its live entries, e.g. for inspection and tests.
 */
import type { BpfMap } from '../bpf/index.js';
import * as abi from './abi.js';

/**
 * Connections the table holds by default: sized for a 10 Gbit/s director
 * (docs/data-plane.md, "Connection table"). 64 MiB of lb_conns plus
 * 136 MiB of lb_nat.
 */
export const DEFAULT_CONNECTION_TABLE_SIZE = 1_048_576;
/** Bounds of the connectionTableSize setting (the largest: 1 GiB of lb_conns, 2.2 GiB of lb_nat). */
export const MIN_CONNECTION_TABLE_SIZE = 1024;
export const MAX_CONNECTION_TABLE_SIZE = 16_777_216;

/** Sets needed for `connections` entries: a power of two, so the program takes a set from the top bits of a hash. */
export function connTableSets(connections: number): number {
  const wanted = Math.max(1, Math.ceil(connections / abi.CONN_WAYS));
  return 2 ** Math.ceil(Math.log2(wanted));
}

export interface ConnEntry {
  readonly set: number;
  readonly way: number;
  readonly key: ReturnType<typeof abi.flowKey.decode>;
  readonly conn: ReturnType<typeof abi.conn.decode>;
}

/** Byte offset of way `way`'s lb_conn inside a set value. */
export function connOffset(way: number): number {
  return way * abi.connSlot.size + abi.connSlot.offsetOf('conn');
}

/** Every occupied entry (family set) of the table, in set and way order. */
export function connEntries(map: BpfMap): ConnEntry[] {
  const out: ConnEntry[] = [];
  for (const [k, v] of map.entries()) {
    for (let way = 0; way < abi.CONN_WAYS; way++) {
      const base = way * abi.connSlot.size;
      const key = abi.flowKey.decode(v, base + abi.connSlot.offsetOf('key'));
      if (key.family === 0) continue;
      out.push({ set: k.readUInt32LE(0), way, key, conn: abi.conn.decode(v, connOffset(way)) });
    }
  }
  return out;
}
