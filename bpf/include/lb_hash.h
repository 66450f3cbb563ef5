/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hashing: whole flows for the connection table (keyed per instance: a
 * secret), service keys for the service table (src/dataplane/hash.ts
 * computes the same service hashes), addresses for the sh/dh/mh schedulers
 * (unkeyed: directors of a pair or behind ECMP must agree on them).
 *
 * Multiply-shift hashing (Dietzfelbinger et al.): each hash is the high half
 * of a sum of the input's 64-bit words times odd multipliers (constants, or
 * the flow hash's per-instance key). The products are
 * independent of each other, so a hash is one multiply and an add of latency
 * (about 5 cycles, after an IPv6 key's fold); the MurmurHash3 finaliser this
 * replaced chained two multiplies after the first (about 20 cycles): the new
 * hashes took 1-2 ns off an established flow and about 9 ns off a new one in
 * test_run (docs/data-plane.md). Bit 32 + i of a product depends only
 * on bits 0..32 + i of its word, so only the TOP bits of a hash depend on
 * every input bit: a table takes a key's set from the top bits (hash >>
 * shift, lb_set_of), never with a mask.
 */
#ifndef LB_HASH_H
#define LB_HASH_H

#include <linux/types.h>

/* Lanes of a service key's hash: its first set and its second. */
#define LB_HASH_LANE_1 0xff51afd7ed558ccdULL
#define LB_HASH_LANE_2 0xc4ceb9fe1a85ec53ULL

#define LB_HASH_M1 0xc2b2ae3d27d4eb4fULL
#define LB_HASH_M2 0x165667b19e3779f9ULL
#define LB_HASH_M3 0xd6e8feb86659fd93ULL

static __always_inline __u64 lb_rotl64(__u64 x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* The high half of a 64-bit word: a multiply-shift hash's 32 good bits. */
static __always_inline __u32 lb_hi32(__u64 x)
{
	return (__u32)(x >> 32);
}

/*
 * The set a hash picks in a table of 2^(32 - shift) sets: its top bits. The
 * shift is done in 64 bits, so a one-set table (shift 32) gets set 0.
 */
static __always_inline __u32 lb_set_of(__u32 hash, __u32 shift)
{
	return (__u32)((__u64)hash >> shift);
}

/*
 * A 16-byte address and one extra word (a port, or 0) folded into one 64-bit
 * word: the second half and the extra word multiplied (each product a
 * bijection of its word) and rotated apart. An IPv4 address (first 4 bytes,
 * the rest 0) folds to itself.
 */
static __always_inline __u64 lb_fold_addr(const __u8 *addr, __u32 extra)
{
	const __u64 *x = (const __u64 *)addr;

	return x[0] ^ lb_rotl64(x[1] * LB_HASH_M1, 21) ^ lb_rotl64((__u64)extra * LB_HASH_M2, 42);
}

/*
 * Hash of a 16-byte address plus one extra word, for the schedulers
 * (lb_ring_slot uses its top bits). An IPv4 address without a port folds to
 * its first word, so that case skips the fold's multiplies: same value.
 */
static __always_inline __u32 lb_hash_addr(const __u8 *addr, __u32 extra)
{
	const __u64 *x = (const __u64 *)addr;

	if (!extra && !x[1])
		return lb_hi32(x[0] * LB_HASH_M3);
	return lb_hi32(lb_fold_addr(addr, extra) * LB_HASH_M3);
}

/*
 * Three words of one flow hash: `set` and `alt` pick its two connection-table
 * sets (by their top bits), `check` guards entries.
 */
struct lb_flow_hash {
	__u32 set;
	__u32 alt;
	__u32 check;
};

/*
 * Mixes a sum of products before its top bits pick a set: flows whose words
 * count up (sequential clients, one client's ports) are an arithmetic
 * progression times the key, which bunches into few sets whenever the key
 * word is near a small-denominator fraction of 2^64, and both sets bunch
 * together. Folding the high half into the low half and multiplying again
 * spreads them like random flows (docs/data-plane.md, "The keyed flow hash").
 * An IPv6 flow's folded word bunches the same way when only one address
 * word counts up, so its set hashes are mixed too.
 */
static __always_inline __u64 lb_mix_sum(__u64 h, __u64 k)
{
	return (h ^ (h >> 32)) * k;
}

/*
 * Hashes the 40-byte struct lb_flow_key as 8-byte words with the instance's
 * key k (lb_config.flow_hash_key: LB_FLOW_HASH_KEY_WORDS random odd words).
 * Multiply-shift with random odd multipliers is a universal family, so
 * without the key nobody can tell which flows share a set (the connection
 * table's defence against flows crafted to crowd a victim's sets, as
 * IPVS keys its connection hash with ip_vs_conn_rnd). An IPv4 flow's two
 * addresses fit one word a (each sits alone in the low half of its word) and
 * its ports, proto and family another, b: each hash is then hi(a * C + b * D),
 * two multiplies side by side; the two set hashes then go through
 * lb_mix_sum with k6 and k7 (words the IPv4 hash did not use). An IPv6
 * flow's five words are first folded into one (each multiplied by a key
 * word, rotated apart, the first word as it is) and its high half folded
 * into its low half, which each hash multiplies once; the two set hashes'
 * products then go through lb_mix_sum with k5 (the word the IPv6 hash did
 * not use). Without the two folds, clients counting up within a /64 or /64s
 * counting up bunch like IPv4's did.
 * Family is in the last word, so the two families never mix.
 */
static __always_inline struct lb_flow_hash lb_hash_flow(const void *flow_key, int ipv4, const __u64 *k)
{
	const __u64 *x = flow_key;
	struct lb_flow_hash h;
	__u64 a, b, f;

	if (ipv4) {
		a = x[0] | (x[2] << 32);
		b = x[4];
		h.set = lb_hi32(lb_mix_sum(a * k[0] + b * k[1], k[6]));
		h.alt = lb_hi32(lb_mix_sum(a * k[2] + b * k[3], k[7]));
		h.check = lb_hi32(a * k[4] + b * k[5]);
		return h;
	}
	f = x[0] ^ lb_rotl64(x[1] * k[0], 13) ^ lb_rotl64(x[2] * k[1], 26) ^ lb_rotl64(x[3] * k[2], 39) ^
	    lb_rotl64(x[4] * k[3], 52);
	/* The first word enters unmultiplied: bring its top half (a /64's subnet) down. */
	f ^= f >> 32;
	h.set = lb_hi32(lb_mix_sum(f * k[6], k[5]));
	h.alt = lb_hi32(lb_mix_sum(f * k[7], k[5]));
	h.check = lb_hi32(f * k[4]);
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
 * Hash of the 20-byte struct lb_service_key in the lane `lane`
 * (LB_HASH_LANE_1: first set, LB_HASH_LANE_2: second set). An IPv4 key is
 * two 4-byte words (address; port, proto and family), so it is one 64-bit
 * word, which the lane's constant multiplies.
 */
static __always_inline __u32 lb_hash_service(const void *service_key, int ipv4, __u64 lane)
{
	const __u32 *w = service_key;

	if (ipv4)
		return lb_hi32((w[0] | ((__u64)w[4] << 32)) * lane);
	return lb_hi32(lb_fold_addr(service_key, w[4]) * lane);
}

#endif /* LB_HASH_H */
