/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection sync in the program: reporting flows to user space (which sends
 * IPVS sync messages) and storing flows a peer director reported. Storing
 * uses lb_conn_insert, the fast path's own code, so the table's layout and
 * its eviction rule are written once (docs/connection-sync.md).
 */
#ifndef LB_SYNC_H
#define LB_SYNC_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_conntrack.h"
#include "lb_counters.h"
#include "lb_knobs.h"
#include "lb_maps.h"
#include "lb_sched.h"

/*
 * struct lb_sync_conn is otherwise only a local type, which BTF does not
 * keep; this unused constant keeps it in the object, where a test compares
 * its layout with user space's codec.
 */
const volatile struct lb_sync_conn lb_sync_conn_layout = {};

/*
 * Reports a flow to user space. The ring is read on a timer, so no wakeup;
 * a full ring loses the report (counted): sync is best effort, as in IPVS.
 */
static __always_inline void lb_sync_report(const struct lb_flow_key *key, __u32 real_id, __u32 service_id,
					   __u32 flags, const struct lb_config *cfg)
{
	struct lb_sync_conn ev = {};

	if (!lb_sync_enabled)
		return;
	__builtin_memcpy(&ev.key, key, sizeof(ev.key));
	ev.real_id = real_id;
	ev.service_id = service_id;
	ev.flags = flags;
	ev.timeout_s = lb_conn_timeout(cfg, key->proto, flags) / LB_NS_PER_S;
	if (bpf_ringbuf_output(&lb_sync_events, &ev, sizeof(ev), BPF_RB_NO_WAKEUP))
		lb_count(&lb_stats, LB_STAT_SYNC_LOST, 0, 0);
}

/*
 * Whether refreshing a live flow's time from last_seen to now crosses a
 * quarter of its timeout: a flow that stays busy is then reported about four
 * times per timeout, so a peer's copy never expires while this director
 * still forwards it (IPVS's sync_refresh_period idea, without a per-flow field).
 */
static __always_inline int lb_sync_due(__u64 now, __u64 last_seen, __u64 timeout)
{
	__u64 period = timeout >> 2;

	if (!lb_sync_enabled || period == 0)
		return 0;
	return now / period != last_seen / period;
}

/*
 * Stores one learnt flow. Its real must be live for its service (user space
 * mapped the peer's addresses to ids; this re-checks against lb_reals). The
 * peer's timeout can only shorten ours: the entry is back-dated so it expires
 * timeout_s from now, since the table applies one timeout per state.
 */
static __always_inline __u32 lb_sync_store(const struct lb_sync_conn *c, __u64 now, const struct lb_config *cfg)
{
	struct lb_flow_key key;
	struct lb_conn_ref ref;
	struct lb_conn_slot *slot;
	__u32 real_id = c->real_id, service_id = c->service_id, flags = c->flags;
	__u32 rid, sid;
	__u64 ours, theirs;

	__builtin_memcpy(&key, &c->key, sizeof(key));
	if ((key.family != LB_FAMILY_IPV4 && key.family != LB_FAMILY_IPV6) ||
	    (key.proto != IPPROTO_TCP && key.proto != IPPROTO_UDP && key.proto != IPPROTO_SCTP))
		return LB_SYNC_INVALID;
	flags &= LB_CONN_F_FIN | LB_CONN_F_ESTABLISHED;
	if (!lb_live_real(real_id, service_id))
		return LB_SYNC_NO_REAL;
	if (lb_conn_ref_of(&key, &ref, cfg))
		return LB_SYNC_INVALID;

	__u32 result = LB_SYNC_STORED;
	switch (lb_conn_insert(&ref, &key, real_id, service_id, flags, now, cfg)) {
	case LB_CONN_TOOK_EMPTY:
		lb_count(&lb_stats, LB_STAT_CONN_FILLED, 0, 0);
		result = LB_SYNC_FILLED;
		break;
	case LB_CONN_TOOK_LIVE:
		lb_count(&lb_stats, LB_STAT_CONN_EVICTED, 0, 0);
		result = LB_SYNC_EVICTED;
		break;
	default:
		break;
	}

	ours = lb_conn_timeout(cfg, key.proto, flags);
	theirs = (__u64)c->timeout_s * LB_NS_PER_S;
	if (c->timeout_s != 0 && theirs < ours) {
		slot = lb_conn_find(&ref, &key, &rid, &sid);
		if (slot)
			slot->conn.last_seen_ns = now - (ours - theirs);
	}
	return result;
}

#endif /* LB_SYNC_H */
