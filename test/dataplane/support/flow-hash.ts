/**
 * The program's flow hash (lb_hash_flow in bpf/include/lb_hash.h) for IPv4
 * flows, in BigInt arithmetic: tests use it to pick flows that land in given
 * connection-table sets. A test built on it fails if it drifts from the C.
 */
import { isIPv4 } from 'node:net';
import * as abi from '../../../src/dataplane/abi.js';
import { setOf } from '../../../src/dataplane/hash.js';

const MASK64 = (1n << 64n) - 1n;
const M1 = 0xc2b2ae3d27d4eb4fn;
const M2 = 0x165667b19e3779f9n;
const M3 = 0xd6e8feb86659fd93n;
const M4 = 0x9fb21c651e98df25n;

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

/** The two connection-table sets of an IPv4 flow in a table of `sets` sets (a power of two). */
export function flowSets(flow: Ipv4Flow, sets: number): [number, number] {
  if (!isIPv4(flow.src) || !isIPv4(flow.dst)) throw new Error('flowSets: IPv4 flows only');
  const key = Buffer.alloc(abi.flowKey.size);
  key.set(flow.src.split('.').map(Number), abi.flowKey.offsetOf('src'));
  key.set(flow.dst.split('.').map(Number), abi.flowKey.offsetOf('dst'));
  key.writeUInt16BE(flow.sport, abi.flowKey.offsetOf('sport'));
  key.writeUInt16BE(flow.dport, abi.flowKey.offsetOf('dport'));
  key[abi.flowKey.offsetOf('proto')] = abi.PROTO[flow.proto];
  key[abi.flowKey.offsetOf('family')] = abi.FAMILY.ipv4;
  const x = (i: number) => key.readBigUInt64LE(i * 8);
  const a = x(0) | ((x(2) << 32n) & MASK64);
  const b = x(4);
  return [setOf(hash(a, M1, b, M2), sets), setOf(hash(a, M3, b, M4), sets)];
}
