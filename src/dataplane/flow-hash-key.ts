/**
 * The connection table's flow-hash key (lb_config.flow_hash_key, read by
 * lb_hash_flow in bpf/include/lb_hash.h): random odd 64-bit multipliers,
 * drawn when an instance's maps are created and adopted with its pins, so
 * which flows share a connection-table set is this instance's secret.
 */
import { randomBytes } from 'node:crypto';
import type { BpfMap } from '../bpf/index.js';
import * as abi from './abi.js';

/** LB_FLOW_HASH_KEY_WORDS. */
export const FLOW_HASH_KEY_WORDS = 8;
const WORD = 8;

/** A fresh key from the system's cryptographic random source, every word odd. */
export function newFlowHashKey(): Buffer {
  const key = randomBytes(FLOW_HASH_KEY_WORDS * WORD);
  // Odd multipliers: a multiply by one is a bijection of the 64-bit words.
  for (let i = 0; i < key.length; i += WORD) key[i]! |= 1;
  return key;
}

/** The key's multipliers, as the program reads them (little-endian words). */
export function flowHashKeyWords(key: Buffer): bigint[] {
  return Array.from({ length: FLOW_HASH_KEY_WORDS }, (_, i) => key.readBigUInt64LE(i * WORD));
}

/**
 * The key in lb_config, or undefined when the map holds none (a new map is
 * all zeros; a written key has every word odd).
 */
export function readFlowHashKey(config: BpfMap): Buffer | undefined {
  const value = config.lookup(Buffer.alloc(4));
  if (value === undefined) return undefined;
  const key = Buffer.from(abi.config.decode(value).flow_hash_key);
  return flowHashKeyWords(key).every((w) => (w & 1n) === 1n) ? key : undefined;
}
