/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hashing: whole flows for the connection table, service keys for the service
 * table (src/dataplane/hash.ts computes the same service hashes), addresses
 * for the sh/dh/mh schedulers.
 *
 * Each hash multiplies its input words by distinct odd constants (each product
 * a bijection of its word), XORs the products at different rotations and ends
 * with MurmurHash3's 64-bit finaliser, in which every input bit flips each
 * output bit with probability about 1/2. The multiplies are independent of each
 * other, so a hash is about 15 cycles of latency; MurmurHash3's block loop
 * chains one multiply-rotate-multiply per word (about 50 cycles for a flow),
 * which cost the established-flow path about 7 ns (see docs/data-plane.md).
 */
#ifndef LB_HASH_H
#define LB_HASH_H

#include <linux/types.h>

/* Lanes: the first set of a service key and a flow's set/check word... */
#define LB_HASH_SEED 0x6c62636c2d6c6230ULL
/* ...and the second set of a service key. */
#define LB_HASH_SEED_2 0x9e3779b97f4a7c15ULL

#define LB_HASH_M1 0xc2b2ae3d27d4eb4fULL
#define LB_HASH_M2 0x165667b19e3779f9ULL
#define LB_HASH_M3 0xd6e8feb86659fd93ULL
#define LB_HASH_M4 0x9fb21c651e98df25ULL

static __always_inline __u64 lb_rotl64(__u64 x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* MurmurHash3's fmix64: a bijection with full avalanche. */
static __always_inline __u64 lb_fmix64(__u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

/* Hash of a 16-byte address plus one extra word (a port, or 0), for the schedulers. */
static __always_inline __u32 lb_hash_addr(const __u8 *addr, __u32 extra)
{
	const __u64 *x = (const __u64 *)addr;

	return (__u32)lb_fmix64(LB_HASH_SEED ^ x[0] ^ lb_rotl64(x[1] * LB_HASH_M1, 21) ^
				lb_rotl64((__u64)extra * LB_HASH_M2, 42));
}

/*
 * Three words of one flow hash: `set` and `alt` pick its two connection-table
 * sets, `check` guards entries.
 */
struct lb_flow_hash {
	__u32 set;
	__u32 alt;
	__u32 check;
};

/*
 * Hashes the 40-byte struct lb_flow_key as five 8-byte words. An IPv4 flow's
 * two addresses fit one word (each sits alone in the low half of its word)
 * and its ports, proto and family another, so it hashes two words; family
 * is in the last word, so the two families never mix.
 */
static __always_inline struct lb_flow_hash lb_hash_flow(const void *flow_key, int ipv4)
{
	const __u64 *x = flow_key;
	struct lb_flow_hash h;
	__u64 k;

	if (ipv4)
		k = (x[0] | (x[2] << 32)) ^ lb_rotl64(x[4] * LB_HASH_M1, 32);
	else
		k = x[0] ^ lb_rotl64(x[1] * LB_HASH_M1, 13) ^ lb_rotl64(x[2] * LB_HASH_M2, 26) ^
		    lb_rotl64(x[3] * LB_HASH_M3, 39) ^ lb_rotl64(x[4] * LB_HASH_M4, 52);
	k = lb_fmix64(k ^ LB_HASH_SEED);
	h.set = (__u32)k;
	h.alt = (__u32)(k >> 32);
	/* A multiply carries every bit of k into the high half: flows sharing a set still differ here. */
	h.check = (__u32)((k * LB_HASH_M3) >> 32);
	return h;
}

/*
 * Check word of a connection entry: a bijection of the flow's check hash for
 * a given {real, service}, and one-to-one in each of real and service, so an
 * entry whose fields come from two writers (two CPUs filling one entry at
 * once) fails it unless the hashes collide.
 */
static __always_inline __u32 lb_conn_check(__u32 flow_check, __u32 real_id, __u32 service_id)
{
	return flow_check ^ (real_id * 0x9e3779b1U) ^ (service_id * 0x85ebca77U);
}

/*
 * Hash of the 20-byte struct lb_service_key in the lane named by `seed`
 * (LB_HASH_SEED: first set, LB_HASH_SEED_2: second set). An IPv4 key is
 * two 4-byte words (address; port, proto and family), so it fits one
 * 64-bit word and two IPv4 keys never collide before the set mask.
 */
static __always_inline __u32 lb_hash_service(const void *service_key, int ipv4, __u64 seed)
{
	const __u32 *w = service_key;
	const __u64 *x = service_key;
	__u64 k;

	if (ipv4)
		k = w[0] | ((__u64)w[4] << 32);
	else
		k = x[0] ^ lb_rotl64(x[1] * LB_HASH_M1, 21) ^ lb_rotl64((__u64)w[4] * LB_HASH_M2, 42);
	return (__u32)lb_fmix64(k ^ seed);
}

#endif /* LB_HASH_H */
