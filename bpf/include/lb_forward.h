/* SPDX-License-Identifier: GPL-2.0-only */
/* Sending a packet to its real by the real's forwarding method: DR, NAT or TUN. */
#ifndef LB_FORWARD_H
#define LB_FORWARD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_counters.h"
#include "lb_egress.h"
#include "lb_encap.h"
#include "lb_nat.h"
#include "lb_packet.h"

/*
 * Sends the packet to real r according to the real's forwarding method (NAT:
 * unless `translated` already), counting it as forwarded in `counted` if it
 * leaves (NULL: not counted).
 */
static __always_inline int lb_forward(struct xdp_md *ctx, struct lb_pkt *p, const struct lb_real *r,
				      const struct lb_config *cfg, int translated, struct lb_real_counters *counted)
{
	void *data_end = (void *)(long)ctx->data_end;

	switch (r->fwd) {
	case LB_FWD_NAT:
		if (translated)
			return lb_l2_out(p->ingress_ifindex, p->eth, data_end, r, counted, p->ip_len);
		if (r->family != p->flow.family || lb_nat_rewrite(p, data_end, r->addr, r->port, 1))
			return lb_stat(ctx, LB_STAT_MALFORMED, XDP_DROP);
		return lb_l2_out(p->ingress_ifindex, p->eth, data_end, r, counted, p->ip_len);
	case LB_FWD_TUN:
		return lb_tun_forward(ctx, p, r, cfg, counted);
	default:
		return lb_l2_out(p->ingress_ifindex, p->eth, data_end, r, counted, p->ip_len);
	}
}

#endif /* LB_FORWARD_H */
