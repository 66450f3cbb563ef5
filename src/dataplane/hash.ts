/**
 * The program's service-key hash (lb_hash_service in bpf/include/lb_hash.h),
 * computed the same way here so user space places each service where the
 * program looks for it.
 */

const MASK64 = (1n << 64n) - 1n;

/** LB_HASH_SEED: a service key's first set. */
export const HASH_SEED = 0x6c62636c2d6c6230n;
/** LB_HASH_SEED_2: a service key's second set. */
export const HASH_SEED_2 = 0x9e3779b97f4a7c15n;

const M1 = 0xc2b2ae3d27d4eb4fn;
const M2 = 0x165667b19e3779f9n;

const mul64 = (a: bigint, b: bigint) => (a * b) & MASK64;
const rotl64 = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & MASK64;

/** MurmurHash3's fmix64 (lb_fmix64). */
export function fmix64(input: bigint): bigint {
  let k = input & MASK64;
  k ^= k >> 33n;
  k = mul64(k, 0xff51afd7ed558ccdn);
  k ^= k >> 33n;
  k = mul64(k, 0xc4ceb9fe1a85ec53n);
  k ^= k >> 33n;
  return k;
}

/** lb_hash_service: the hash of an encoded struct lb_service_key (20 bytes) in the lane `seed`. */
export function serviceKeyHash(key: Buffer, ipv4: boolean, seed: bigint): number {
  const w4 = BigInt(key.readUInt32LE(16));
  const k = ipv4
    ? BigInt(key.readUInt32LE(0)) | (w4 << 32n)
    : key.readBigUInt64LE(0) ^
      rotl64(mul64(key.readBigUInt64LE(8), M1), 21n) ^
      rotl64(mul64(w4, M2), 42n);
  return Number(fmix64(k ^ seed) & 0xffffffffn);
}
