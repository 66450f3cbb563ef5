// SPDX-License-Identifier: GPL-2.0-only
/*
 * lbctl XDP data plane: LVS-style DR, NAT and TUN forwarding with rr/wrr/sh/dh/mh
 * scheduling, connection tracking, persistence and per-CPU counters.
 *
 * This file is the fast path as it reads (lb_xdp), plus the entry point that
 * stores flows learnt by connection sync (lb_sync_learn); each step lives in a header under
 * include/ (docs/data-plane.md lists them). The ABI shared with user space
 * (structs, constants, map names) is include/lb_abi.h and nothing else.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_knobs.h"
#include "lb_maps.h"
#include "lb_counters.h"
#include "lb_packet.h"
#include "lb_conntrack.h"
#include "lb_martian.h"
#include "lb_service.h"
#include "lb_sched.h"
#include "lb_nat.h"
#include "lb_egress.h"
#include "lb_icmp.h"
#include "lb_forward.h"
#include "lb_sync.h"

SEC("xdp")
int lb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_pkt p; /* not zeroed: ten stores per packet; the parse writes what is read */
	struct lb_config *cfg;
	struct lb_ring *ring;
	struct lb_conn_ref conns;
	struct lb_conn_slot *slot;
	struct lb_real *r = NULL;
	struct lb_real_counters *counted;
	__u32 real_id = LB_REAL_NONE;
	__u32 service_id = 0;
	__u32 seen;
	int new_conn = 0;
	__u64 now;
	int rc;

	/*
	 * The config first: with no lookup (a call, to clang) between the parse
	 * and the flow hash, the hash reads the key words the parse just wrote.
	 */
	cfg = lb_get_config();
	if (!cfg)
		return XDP_PASS;
	p.ingress_ifindex = ctx->ingress_ifindex;
	rc = lb_parse(data, data_end, &p);
	switch (rc) {
	case LB_P_NOT_IP:
		return lb_stat(ctx, LB_STAT_PASS_NOT_IP, XDP_PASS);
	case LB_P_MALFORMED:
		return lb_stat(ctx, LB_STAT_MALFORMED, lb_malformed_verdict == XDP_DROP ? XDP_DROP : XDP_PASS);
	case LB_P_FRAGMENT:
		return lb_stat(ctx, LB_STAT_FRAGMENT, lb_fragment_verdict == XDP_DROP ? XDP_DROP : XDP_PASS);
	case LB_P_OTHER:
		return lb_stat(ctx, LB_STAT_PASS_NO_SERVICE, XDP_PASS);
	}
	if (lb_forget_parse_path(ctx, &p, cfg))
		return XDP_PASS;
	if (rc == LB_P_ICMP) {
		switch (lb_icmp_steer(ctx, &p, cfg, &r)) {
		case LB_ICMP_TO_REAL:
			lb_count(&lb_stats, LB_STAT_ICMP_STEERED, ctx->data_end - ctx->data, 0);
			return lb_forward(ctx, &p, r, cfg, 1, NULL);
		case LB_ICMP_TO_CLIENT:
			lb_count(&lb_stats, LB_STAT_ICMP_TO_CLIENT, ctx->data_end - ctx->data, 0);
			goto route;
		case LB_ICMP_DROP:
			return lb_stat(ctx, LB_STAT_MALFORMED, XDP_DROP);
		default:
			return lb_stat(ctx, LB_STAT_PASS_NO_SERVICE, XDP_PASS);
		}
	}

	seen = lb_conn_flags_of(&p);
	if (lb_conn_ref_of(&p.flow, &conns, cfg))
		return XDP_PASS;
	now = lb_now();

	/* Established flows first: they need neither the service entry nor its ring. */
	slot = lb_conn_find(&conns, &p.flow, &real_id, &service_id);
	if (slot) {
		__u64 last_seen = slot->conn.last_seen_ns;
		__u32 flags = slot->conn.flags;
		__u64 timeout = lb_conn_timeout(cfg, p.flow.proto, flags);

		if (lb_fresh(now, last_seen, timeout) && !lb_conn_reopened(&p, flags))
			r = lb_live_real(real_id, service_id);
		if (r) {
			/*
			 * Writes are rare: the time only when it has grown stale, each flag
			 * once. Connection sync reports only on these writes (state changes,
			 * and busy flows now and then), compiled out when off.
			 */
			if ((__s64)(now - last_seen) >= (__s64)lb_refresh_lag(timeout)) {
				slot->conn.last_seen_ns = now;
				if (!(seen & ~flags) && lb_sync_due(now, last_seen, timeout))
					lb_sync_report(&p.flow, real_id, service_id, flags, cfg);
			}
			if (seen & ~flags) {
				slot->conn.flags = flags | seen;
				lb_sync_report(&p.flow, real_id, service_id, flags | seen, cfg);
			}
		}
	}
	if (!r) {
		/* New flow, expired or reopened flow, or its real was removed: schedule afresh. */
		ring = lb_find_service(&p, &service_id);
		if (!ring) {
			if (cfg->nat_enabled) {
				rc = lb_nat_reply(ctx, &p, now);
				if (rc == 0)
					goto route;
				if (rc > 0)
					return rc;
			}
			return lb_stat(ctx, LB_STAT_PASS_NO_SERVICE, XDP_PASS);
		}
		if (lb_martian_source(&p))
			return lb_stat(ctx, LB_STAT_MARTIAN_SOURCE, XDP_DROP);
		if (p.flow.sport == 0)
			return lb_stat(ctx, LB_STAT_SOURCE_PORT_ZERO, XDP_DROP);
		if (!lb_may_open_flow(&p)) {
			/* Behind ECMP another director may have seen the SYN: mh picks the same real. */
			r = lb_hash_real_untracked(ring, service_id, &p, &real_id);
			if (!r)
				return lb_stat(ctx, LB_STAT_PASS_NOT_SYN, XDP_PASS);
			lb_count(&lb_stats, LB_STAT_HASH_FORWARDED, 0, 0);
			goto forward;
		}
		if (ring->params.flags & LB_SVC_F_PERSISTENT)
			real_id = lb_persistent_real(ring, service_id, &p, now);
		else
			real_id = lb_schedule(ring, service_id, &p);
		r = lb_live_real(real_id, service_id);
		if (!r)
			return lb_stat(ctx, LB_STAT_NO_REAL, XDP_DROP);
		switch (lb_conn_insert(&conns, &p.flow, real_id, service_id, seen, now, cfg)) {
		case LB_CONN_TOOK_EMPTY:
			lb_count(&lb_stats, LB_STAT_CONN_FILLED, 0, 0);
			break;
		case LB_CONN_TOOK_LIVE:
			lb_count(&lb_stats, LB_STAT_CONN_EVICTED, 0, 0);
			break;
		default: /* reusing a stale entry changes no count */
			break;
		}
		if (r->fwd == LB_FWD_NAT)
			lb_nat_track(&p, r, real_id, now);
		lb_sync_report(&p.flow, real_id, service_id, seen, cfg);
		new_conn = 1;
	}

forward:
	/*
	 * One counter lookup: the real's entry holds what the service's figures and
	 * the global `forwarded` are summed from in user space.
	 */
	counted = lb_real_counters_of(real_id);
	if (counted) {
		counted->packets++;
		counted->bytes += p.ip_len;
		if (new_conn)
			counted->new_conns++;
	}
	return lb_forward(ctx, &p, r, cfg, 0, counted);

route:
	/* NAT replies and ICMP errors translated for a client: one copy of the routing code. */
	return lb_route_out(ctx, &p);
}

/*
 * Connection sync's insert path (never attached): user space runs it through
 * BPF_PROG_TEST_RUN on a frame of up to LB_SYNC_LEARN_BATCH struct
 * lb_sync_conn, each stored by lb_sync_store and its result written back.
 */
SEC("xdp")
int lb_sync_learn(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_config *cfg = lb_get_config();
	__u64 now = lb_now();

	if (!cfg)
		return XDP_ABORTED;
	for (int i = 0; i < LB_SYNC_LEARN_BATCH; i++) {
		struct lb_sync_conn *c = data + i * sizeof(*c);

		if ((void *)(c + 1) > data_end)
			break;
		c->result = lb_sync_store(c, now, cfg);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
