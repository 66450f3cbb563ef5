/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The service table: which service a packet is addressed to. Keys live in
 * sets of LB_SVC_WAYS entries in an array (first set, or second when the
 * first has spilled), placed by user space with the same hashes, so a lookup
 * is inline code. A service's settings travel with its live ring.
 */
#ifndef LB_SERVICE_H
#define LB_SERVICE_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_hash.h"
#include "lb_knobs.h"
#include "lb_maps.h"
#include "lb_packet.h"

static __always_inline int lb_service_key_eq(const struct lb_service_key *a, const struct lb_service_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && *(const __u32 *)(x + 2) == *(const __u32 *)(y + 2);
}

/* Copies out the live entry for `key` in `set`, so no per-way pointer outlives the scan. */
static __always_inline int lb_service_in_set(const struct lb_service_set *set, const struct lb_service_key *key,
					     struct lb_service *out)
{
#pragma unroll
	for (int i = 0; i < LB_SVC_WAYS; i++) {
		const struct lb_service_slot *s = &set->ways[i];

		if (!s->svc.live || !lb_service_key_eq(&s->key, key))
			continue;
		out->id = s->svc.id;
		out->ring_slot = s->svc.ring_slot;
		return 1;
	}
	return 0;
}

/* The service-table entry of `key`: in its first set, or in its second when the first has spilled. */
static __always_inline int lb_service_lookup(const struct lb_service_key *key, struct lb_service *out)
{
	int ipv4 = key->family == LB_FAMILY_IPV4;
	__u32 idx = lb_set_of(lb_hash_service(key, ipv4, LB_HASH_LANE_1), lb_svc_set_shift);
	struct lb_service_set *set = bpf_map_lookup_elem(&lb_services, &idx);

	if (!set)
		return 0;
	if (lb_service_in_set(set, key, out))
		return 1;
	if (!set->spilled)
		return 0;
	idx = lb_set_of(lb_hash_service(key, ipv4, LB_HASH_LANE_2), lb_svc_set_shift);
	set = bpf_map_lookup_elem(&lb_services, &idx);
	return set && lb_service_in_set(set, key, out);
}

/*
 * The service a packet is addressed to, as its live ring (which carries the
 * service's settings), and its id; NULL when there is none.
 */
static __always_inline struct lb_ring *lb_find_service(const struct lb_pkt *p, __u32 *service_id)
{
	struct lb_service_key key __attribute__((aligned(8))) = {};
	struct lb_service svc = {};
	struct lb_ring *ring;
	int all_ports = 0;
	__u32 ring_key;

	__builtin_memcpy(key.addr, p->flow.dst, 16);
	key.port = p->flow.dport;
	key.proto = p->flow.proto;
	key.family = p->flow.family;
	if (!lb_service_lookup(&key, &svc)) {
		key.port = 0;
		if (!lb_service_lookup(&key, &svc))
			return NULL;
		all_ports = 1;
	}
	ring_key = svc.id * LB_RING_SLOTS + (svc.ring_slot & 1);
	ring = bpf_map_lookup_elem(&lb_rings, &ring_key);
	if (!ring)
		return NULL;
	/* All-ports services exist only as persistent services, as in IPVS. */
	if (all_ports && !(ring->params.flags & LB_SVC_F_PERSISTENT))
		return NULL;
	*service_id = svc.id;
	return ring;
}

#endif /* LB_SERVICE_H */
