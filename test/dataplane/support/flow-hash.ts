/**
 * The program's flow hash (lb_hash_flow in bpf/include/lb_hash.h) for IPv4
 * flows, in BigInt arithmetic: tests use it to pick flows that land in given
 * connection-table sets. A test built on it fails if it drifts from the C.
 */
import { isIPv4 } from 'node:net';
import * as abi from '../../../src/dataplane/abi.js';

const MASK64 = (1n << 64n) - 1n;
const SEED = 0x6c62636c2d6c6230n;
const M1 = 0xc2b2ae3d27d4eb4fn;

const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK64;

function fmix64(k: bigint): bigint {
  let x = k;
  x ^= x >> 33n;
  x = (x * 0xff51afd7ed558ccdn) & MASK64;
  x ^= x >> 33n;
  x = (x * 0xc4ceb9fe1a85ec53n) & MASK64;
  x ^= x >> 33n;
  return x;
}

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
  const k = (x(0) | ((x(2) << 32n) & MASK64)) ^ rotl((x(4) * M1) & MASK64, 32n);
  const h = fmix64(k ^ SEED);
  const mask = BigInt(sets - 1);
  return [Number(h & mask), Number((h >> 32n) & mask)];
}
