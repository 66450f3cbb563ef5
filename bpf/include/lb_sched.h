/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scheduling a new flow: the real a service's ring picks (rr/wrr shared
 * position, sh/dh/mh address hash into a Maglev table), persistence
 * templates (ipvsadm -p), and the check that a real may still take traffic.
 */
#ifndef LB_SCHED_H
#define LB_SCHED_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_conntrack.h"
#include "lb_hash.h"
#include "lb_maps.h"
#include "lb_packet.h"

/* A real that may carry traffic for this service (present and not removed). */
static __always_inline struct lb_real *lb_live_real(__u32 real_id, __u32 service_id)
{
	struct lb_real *r;

	if (real_id == LB_REAL_NONE)
		return NULL;
	r = bpf_map_lookup_elem(&lb_reals, &real_id);
	if (!r || !(r->flags & LB_REAL_F_ACTIVE) || r->service_id != service_id)
		return NULL;
	return r;
}

/*
 * A slot of a Maglev table from a 32-bit hash: the high half of hash x
 * LB_RING_SIZE (Lemire's range reduction), as even as `hash % LB_RING_SIZE`
 * (slot sizes differ by at most one hash value in 65,535) but a multiply
 * instead of a 64-bit division, which the JIT emits as a `div` of 20-90
 * cycles.
 */
static __always_inline __u32 lb_ring_slot(__u32 hash)
{
	return ((__u64)hash * LB_RING_SIZE) >> 32;
}

static __always_inline __u32 lb_schedule(const struct lb_ring *ring, __u32 service_id, const struct lb_pkt *p)
{
	__u32 ring_len = ring->params.ring_len;
	__u32 port = (ring->params.flags & LB_SVC_F_HASH_PORT) ? p->flow.sport : 0;
	__u32 *pos;
	__u32 idx;

	if (ring_len == 0)
		return LB_REAL_NONE;
	switch (ring->params.sched) {
	case LB_SCHED_RR:
	case LB_SCHED_WRR:
		pos = bpf_map_lookup_elem(&lb_rr_pos, &service_id);
		if (!pos)
			return LB_REAL_NONE;
		__sync_fetch_and_add(pos, 1);
		idx = *pos % ring_len;
		break;
	case LB_SCHED_DH:
		idx = lb_ring_slot(lb_hash_addr(p->flow.dst, 0));
		break;
	default: /* sh and mh: the source address (and port when asked) */
		idx = lb_ring_slot(lb_hash_addr(p->flow.src, port));
		break;
	}
	asm volatile("" : "+r"(idx)); /* keep the bound check below for the verifier */
	if (idx >= LB_RING_SIZE)
		return LB_REAL_NONE;
	return ring->reals[idx];
}

/*
 * A segment of a TCP flow this director never saw open (ECMP moved it here, or
 * it restarted): for a non-persistent mh service every director holding the
 * same reals and weights has the same Maglev table, so the hash finds the real
 * the SYN went to. Forwarded without creating state (docs/scale-out.md: an ACK
 * flood must not fill the connection table). NAT needs the opening director's
 * translation state, so its flows stay refused.
 */
static __always_inline struct lb_real *lb_hash_real_untracked(const struct lb_ring *ring, __u32 service_id,
							      const struct lb_pkt *p, __u32 *real_id)
{
	struct lb_real *r;

	if (ring->params.sched != LB_SCHED_MH || (ring->params.flags & LB_SVC_F_PERSISTENT))
		return NULL;
	*real_id = lb_schedule(ring, service_id, p);
	r = lb_live_real(*real_id, service_id);
	if (!r || r->fwd == LB_FWD_NAT)
		return NULL;
	return r;
}

static __always_inline void lb_mask_addr(__u8 *addr, __u32 prefix)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		int bits = (int)prefix - i * 8;

		if (bits <= 0)
			addr[i] = 0;
		else if (bits < 8)
			addr[i] &= (__u8)(0xff << (8 - bits));
	}
}

/* Persistence: the client's template real if fresh and not draining, else a new choice. */
static __always_inline __u32 lb_persistent_real(const struct lb_ring *ring, __u32 service_id, const struct lb_pkt *p,
						__u64 now)
{
	struct lb_persist_key pk = {};
	struct lb_persist *tmpl, fresh = {};
	struct lb_real *r;
	__u32 real_id;

	__builtin_memcpy(pk.src, p->flow.src, 16);
	lb_mask_addr(pk.src, ring->params.persist_prefix);
	pk.service_id = service_id;
	tmpl = bpf_map_lookup_elem(&lb_persist, &pk);
	if (tmpl && lb_fresh(now, tmpl->last_seen_ns, (__u64)ring->params.persist_timeout_s * LB_NS_PER_S)) {
		r = lb_live_real(tmpl->real_id, service_id);
		if (r && r->weight > 0) {
			tmpl->last_seen_ns = now;
			return tmpl->real_id;
		}
	}
	real_id = lb_schedule(ring, service_id, p);
	if (real_id == LB_REAL_NONE)
		return real_id;
	fresh.real_id = real_id;
	fresh.last_seen_ns = now;
	bpf_map_update_elem(&lb_persist, &pk, &fresh, BPF_ANY);
	return real_id;
}

#endif /* LB_SCHED_H */
