/**
 * The program's service-key hash (lb_hash_service in bpf/include/lb_hash.h),
 * computed the same way here so user space places each service where the
 * program looks for it: multiply-shift hashing, a key's set taken from the
 * hash's top bits (setOf).
 */

const MASK64 = (1n << 64n) - 1n;

/** LB_HASH_LANE_1: a service key's first set. */
export const HASH_LANE_1 = 0xff51afd7ed558ccdn;
/** LB_HASH_LANE_2: a service key's second set. */
export const HASH_LANE_2 = 0xc4ceb9fe1a85ec53n;

const M1 = 0xc2b2ae3d27d4eb4fn;
const M2 = 0x165667b19e3779f9n;

const mul64 = (a: bigint, b: bigint) => (a * b) & MASK64;
const rotl64 = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK64;
/** lb_hi32: the high half of a 64-bit word. */
const hi32 = (x: bigint) => Number(x >> 32n);

/** lb_set_of: the set `hash` picks in a table of `sets` sets (a power of two): its top bits. */
export function setOf(hash: number, sets: number): number {
  return Math.floor(hash / (0x1_0000_0000 / sets));
}

/** lb_hash_service: the hash of an encoded struct lb_service_key (20 bytes) in the lane `lane`. */
export function serviceKeyHash(key: Buffer, ipv4: boolean, lane: bigint): number {
  const w4 = BigInt(key.readUInt32LE(16));
  const k = ipv4
    ? BigInt(key.readUInt32LE(0)) | (w4 << 32n)
    : key.readBigUInt64LE(0) ^
      rotl64(mul64(key.readBigUInt64LE(8), M1), 21n) ^
      rotl64(mul64(w4, M2), 42n);
  return hi32(mul64(k, lane));
}
