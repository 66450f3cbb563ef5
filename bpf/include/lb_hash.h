/* SPDX-License-Identifier: GPL-2.0-only */
/* Flow hashing for the sh/dh/mh schedulers (MurmurHash3 x86_32 mixing over words). */
#ifndef LB_HASH_H
#define LB_HASH_H

#include <linux/types.h>

#define LB_HASH_SEED 0x6c62636cU

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

#endif /* LB_HASH_H */
