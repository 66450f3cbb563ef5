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

/**
 * The two set hashes of an IPv4 flow's words a and b under key words k, as
 * 64-bit words (their top bits pick the sets): each sum of two products goes
 * through lb_mix_sum, (h ^ h >> 32) times k6 or k7.
 */
export function setHashes(a: bigint, b: bigint, k: readonly bigint[]): [bigint, bigint] {
  const mix = (h: bigint, m: bigint) => (((h & MASK64) ^ ((h & MASK64) >> 32n)) * m) & MASK64;
  return [mix(a * k[0]! + b * k[1]!, k[6]!), mix(a * k[2]! + b * k[3]!, k[7]!)];
}

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
  const [set, alt] = setHashes(a, b, flowHashKeyWords(key));
  return [setOf(Number(set >> 32n), sets), setOf(Number(alt >> 32n), sets)];
}
