/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-CPU counters: global per reason (lb_stats) and per real (lb_real_stats:
 * scheduled, forwarded and NAT replies in one entry). A service's figures and
 * the global `forwarded` are the reals' summed by user space, plus the totals
 * of lost reals that user space carries (lb_service_stats,
 * lb_stats[LB_STAT_FORWARDED]).
 */
#ifndef LB_COUNTERS_H
#define LB_COUNTERS_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_maps.h"

static __always_inline void lb_count(void *map, __u32 idx, __u64 bytes, int new_conn)
{
	struct lb_counters *c = bpf_map_lookup_elem(map, &idx);

	if (!c)
		return;
	c->packets++;
	c->bytes += bytes;
	if (new_conn)
		c->new_conns++;
}

/* The real's counters (one per-CPU lookup: a helper call where the verifier does not inline it). */
static __always_inline struct lb_real_counters *lb_real_counters_of(__u32 real_id)
{
	return bpf_map_lookup_elem(&lb_real_stats, &real_id);
}

/*
 * A packet that leaves for its real (XDP_TX, or a redirect that succeeded),
 * counted where the verdict is made, so no verdict is carried to a common
 * tail and re-tested. NULL: not a count of the forwarding path (an ICMP
 * error steered to its real).
 */
static __always_inline void lb_count_forwarded(struct lb_real_counters *counted, __u32 ip_len)
{
	if (counted) {
		counted->fwd_packets++;
		counted->fwd_bytes += ip_len;
	}
}

/* Counts the packet (frame bytes) under `reason` and returns `verdict`. */
static __always_inline int lb_stat(struct xdp_md *ctx, __u32 reason, int verdict)
{
	lb_count(&lb_stats, reason, ctx->data_end - ctx->data, 0);
	return verdict;
}

#endif /* LB_COUNTERS_H */
