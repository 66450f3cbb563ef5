/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hashing (MurmurHash3 x86_32 mixing over words): addresses for the sh/dh/mh
 * schedulers, whole flows for the connection table.
 */
#ifndef LB_HASH_H
#define LB_HASH_H

#include <linux/types.h>

#define LB_HASH_SEED 0x6c62636cU
/* Second, independent lane for connection-table entry checks. */
#define LB_HASH_SEED_CHECK 0x9e3779b9U

static __always_inline __u32 lb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 lb_hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51U;
	k = lb_rotl32(k, 15);
	k *= 0x1b873593U;
	h ^= k;
	h = lb_rotl32(h, 13);
	return h * 5 + 0xe6546b64U;
}

static __always_inline __u32 lb_hash_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/* Hash of a 16-byte address plus one extra word (a port, or 0). */
static __always_inline __u32 lb_hash_addr(const __u8 *addr, __u32 extra)
{
	const __u32 *w = (const __u32 *)addr;
	__u32 h = LB_HASH_SEED;

	h = lb_hash_mix(h, w[0]);
	h = lb_hash_mix(h, w[1]);
	h = lb_hash_mix(h, w[2]);
	h = lb_hash_mix(h, w[3]);
	h = lb_hash_mix(h, extra);
	return lb_hash_final(h, 20);
}

/* Two independent hashes of one flow: `set` picks its connection-table set, `check` guards entries. */
struct lb_flow_hash {
	__u32 set;
	__u32 check;
};

/*
 * Hashes the 40-byte struct lb_flow_key as ten words. An IPv4 flow has only
 * four nonzero words (source, destination, ports, proto/family), so it hashes
 * those four; family is part of the last word, so the two families never mix.
 */
static __always_inline struct lb_flow_hash lb_hash_flow(const void *flow_key, int ipv4)
{
	const __u32 *w = flow_key;
	struct lb_flow_hash h = { LB_HASH_SEED, LB_HASH_SEED_CHECK };

	if (ipv4) {
		h.set = lb_hash_mix(lb_hash_mix(lb_hash_mix(lb_hash_mix(h.set, w[0]), w[4]), w[8]), w[9]);
		h.check = lb_hash_mix(lb_hash_mix(lb_hash_mix(lb_hash_mix(h.check, w[0]), w[4]), w[8]), w[9]);
		h.set = lb_hash_final(h.set, 16);
		h.check = lb_hash_final(h.check, 16);
		return h;
	}
#pragma unroll
	for (int i = 0; i < 10; i++) {
		h.set = lb_hash_mix(h.set, w[i]);
		h.check = lb_hash_mix(h.check, w[i]);
	}
	h.set = lb_hash_final(h.set, 40);
	h.check = lb_hash_final(h.check, 40);
	return h;
}

/*
 * Check word of a connection entry: a bijection of the flow's check hash for
 * a given {real, service}, so an entry whose fields come from two writers
 * (two CPUs filling one entry at once) fails it unless the hashes collide.
 */
static __always_inline __u32 lb_conn_check(__u32 flow_check, __u32 real_id, __u32 service_id)
{
	return lb_hash_mix(lb_hash_mix(flow_check, real_id), service_id);
}

#endif /* LB_HASH_H */
