/**
 * The program's flow hash (lb_hash_flow in bpf/include/lb_hash.h) for IPv4
 * flows, in BigInt arithmetic, under a data plane's key (read from its
 * lb_config): tests use it to pick flows that land in given connection-table
 * sets. A test built on it fails if it drifts from the C.
 */
import { isIPv4 } from 'node:net';
import * as abi from '../../../src/dataplane/abi.js';
import { flowHashKeyWords, readFlowHashKey } from '../../../src/dataplane/flow-hash-key.js';
import { setOf } from '../../../src/dataplane/hash.js';
import type { XdpDataPlane } from '../../../src/dataplane/xdp/xdp-dataplane.js';

const MASK64 = (1n << 64n) - 1n;

/** The high half of a 64-bit sum of two products (lb_hi32(a * c + b * d)). */
const hash = (a: bigint, c: bigint, b: bigint, d: bigint) =>
  Number(((a * c + b * d) & MASK64) >> 32n);

export interface Ipv4Flow {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: keyof typeof abi.PROTO;
}

/** The flow-hash key a data plane wrote to its lb_config. */
export function flowHashKeyOf(plane: XdpDataPlane): Buffer {
  const key = readFlowHashKey(plane.map('config'));
  if (key === undefined) throw new Error('flowHashKeyOf: the data plane has written no key');
  return key;
}

/**
 * The two connection-table sets of an IPv4 flow in a table of `sets` sets (a
 * power of two) under the flow-hash key `key`.
 */
export function flowSets(flow: Ipv4Flow, sets: number, key: Buffer): [number, number] {
  if (!isIPv4(flow.src) || !isIPv4(flow.dst)) throw new Error('flowSets: IPv4 flows only');
  const fk = Buffer.alloc(abi.flowKey.size);
  fk.set(flow.src.split('.').map(Number), abi.flowKey.offsetOf('src'));
  fk.set(flow.dst.split('.').map(Number), abi.flowKey.offsetOf('dst'));
  fk.writeUInt16BE(flow.sport, abi.flowKey.offsetOf('sport'));
  fk.writeUInt16BE(flow.dport, abi.flowKey.offsetOf('dport'));
  fk[abi.flowKey.offsetOf('proto')] = abi.PROTO[flow.proto];
  fk[abi.flowKey.offsetOf('family')] = abi.FAMILY.ipv4;
  const x = (i: number) => fk.readBigUInt64LE(i * 8);
  const a = x(0) | ((x(2) << 32n) & MASK64);
  const b = x(4);
  const [k0, k1, k2, k3] = flowHashKeyWords(key) as [bigint, bigint, bigint, bigint];
  return [setOf(hash(a, k0, b, k1), sets), setOf(hash(a, k2, b, k3), sets)];
}
