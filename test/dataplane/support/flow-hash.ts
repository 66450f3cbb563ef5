/**
 * The program's flow hash (lb_hash_flow in bpf/include/lb_hash.h), both
 * families, in BigInt arithmetic, under a data plane's key (read from its
 * lb_config): tests use it to pick flows that land in given connection-table
 * sets. A test built on it fails if it drifts from the C.
 */
import { isIPv4, isIPv6 } from 'node:net';
import * as abi from '../../../src/dataplane/abi.js';
import { flowHashKeyWords, readFlowHashKey } from '../../../src/dataplane/flow-hash-key.js';
import { setOf } from '../../../src/dataplane/hash.js';
import type { XdpDataPlane } from '../../../src/dataplane/xdp/xdp-dataplane.js';
import { addressToBytes } from '../../../src/net/address.js';

const MASK64 = (1n << 64n) - 1n;

/** lb_mix_sum: (h ^ h >> 32) times k, modulo 2^64. */
function mix(h: bigint, k: bigint): bigint {
  const w = h & MASK64;
  return ((w ^ (w >> 32n)) * k) & MASK64;
}

function rotl64(x: bigint, r: bigint): bigint {
  const w = x & MASK64;
  return ((w << r) | (w >> (64n - r))) & MASK64;
}

/**
 * The two set hashes of an IPv4 flow's words a and b under key words k, as
 * 64-bit words (their top bits pick the sets): each sum of two products goes
 * through lb_mix_sum, (h ^ h >> 32) times k6 or k7.
 */
export function setHashes(a: bigint, b: bigint, k: readonly bigint[]): [bigint, bigint] {
  return [mix(a * k[0]! + b * k[1]!, k[6]!), mix(a * k[2]! + b * k[3]!, k[7]!)];
}

/**
 * The two set hashes of an IPv6 flow's five key words x under key words k:
 * the words folded into one (each but the first times a key word, rotated
 * apart) and its high half XORed into its low half, that times k6 and k7,
 * each product through lb_mix_sum with k5.
 */
export function setHashesV6(x: readonly bigint[], k: readonly bigint[]): [bigint, bigint] {
  const folded =
    x[0]! ^
    rotl64(x[1]! * k[0]!, 13n) ^
    rotl64(x[2]! * k[1]!, 26n) ^
    rotl64(x[3]! * k[2]!, 39n) ^
    rotl64(x[4]! * k[3]!, 52n);
  const f = folded ^ (folded >> 32n);
  return [mix(f * k[6]!, k[5]!), mix(f * k[7]!, k[5]!)];
}

export interface Flow {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: keyof typeof abi.PROTO;
}

/** An IPv4 flow (both addresses IPv4). */
export type Ipv4Flow = Flow;

/** The flow-hash key a data plane wrote to its lb_config. */
export function flowHashKeyOf(plane: XdpDataPlane): Buffer {
  const key = readFlowHashKey(plane.map('config'));
  if (key === undefined) throw new Error('flowHashKeyOf: the data plane has written no key');
  return key;
}

/**
 * A flow's struct lb_flow_key as the five little-endian 64-bit words
 * lb_hash_flow reads, and whether it is IPv4.
 */
export function flowKeyWords(flow: Flow): { ipv4: boolean; words: bigint[] } {
  const ipv4 = isIPv4(flow.src) && isIPv4(flow.dst);
  if (!ipv4 && !(isIPv6(flow.src) && isIPv6(flow.dst)))
    throw new Error('flowKeyWords: both addresses must be of one family');
  const fk = Buffer.alloc(abi.flowKey.size);
  fk.set(addressToBytes(flow.src), abi.flowKey.offsetOf('src'));
  fk.set(addressToBytes(flow.dst), abi.flowKey.offsetOf('dst'));
  fk.writeUInt16BE(flow.sport, abi.flowKey.offsetOf('sport'));
  fk.writeUInt16BE(flow.dport, abi.flowKey.offsetOf('dport'));
  fk[abi.flowKey.offsetOf('proto')] = abi.PROTO[flow.proto];
  fk[abi.flowKey.offsetOf('family')] = ipv4 ? abi.FAMILY.ipv4 : abi.FAMILY.ipv6;
  return { ipv4, words: Array.from({ length: 5 }, (_, i) => fk.readBigUInt64LE(i * 8)) };
}

/** A flow's two set hashes as 64-bit words under key words k. */
export function flowSetHashes(flow: Flow, k: readonly bigint[]): [bigint, bigint] {
  const { ipv4, words: x } = flowKeyWords(flow);
  if (!ipv4) return setHashesV6(x, k);
  return setHashes(x[0]! | ((x[2]! << 32n) & MASK64), x[4]!, k);
}

/**
 * The two connection-table sets of a flow (IPv4 or IPv6) in a table of
 * `sets` sets (a power of two) under the flow-hash key `key`.
 */
export function flowSets(flow: Flow, sets: number, key: Buffer): [number, number] {
  const [set, alt] = flowSetHashes(flow, flowHashKeyWords(key));
  return [setOf(Number(set >> 32n), sets), setOf(Number(alt >> 32n), sets)];
}
