/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Encapsulation for TUN reals (ipvsadm -i): room opened after the link-layer
 * header, then an outer IPv4 or IPv6 header (IPIP, IP6IP6 and the mixed
 * cases); packets too big for the tunnel are answered (lb_ptb.h).
 */
#ifndef LB_ENCAP_H
#define LB_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lb_abi.h"
#include "lb_counters.h"
#include "lb_csum.h"
#include "lb_egress.h"
#include "lb_packet.h"
#include "lb_ptb.h"

#define LB_TUN_TTL 64

/* Bytes the outer header adds for real r. */
static __always_inline __u32 lb_tun_outer_len(const struct lb_real *r)
{
	return r->family == LB_FAMILY_IPV4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/* Whether the encapsulated packet would exceed the tunnel MTU (0 = no limit). */
static __always_inline int lb_tun_too_big(const struct lb_pkt *p, const struct lb_real *r, const struct lb_config *cfg)
{
	return cfg->tun_mtu && p->ip_len + lb_tun_outer_len(r) > cfg->tun_mtu;
}

/*
 * Builds the outer IPv4/IPv6 header in front of the packet (IPIP, IP6IP6,
 * IPv4-in-IPv6, IPv6-in-IPv4), or answers "packet too big" when the result
 * would exceed the tunnel MTU.
 */
static __always_inline int lb_tun_forward(struct xdp_md *ctx, struct lb_pkt *p, const struct lb_real *r,
					  const struct lb_config *cfg, struct lb_real_counters *counted)
{
	__u32 outer_len = lb_tun_outer_len(r);
	__u8 inner_proto = p->flow.family == LB_FAMILY_IPV4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	__u32 inner_len = p->ip_len;
	__u32 l2_len = p->l3_off;
	__u8 tos = lb_pkt_tos(p, (void *)(long)ctx->data_end);
	__u32 frame_len = ctx->data_end - ctx->data;
	void *data, *data_end;
	__be16 *ethertype;

	if (lb_tun_too_big(p, r, cfg))
		return lb_send_too_big(ctx, p, cfg->tun_mtu - outer_len);
	/* Ethernet padding after the IP packet must not end up inside the tunnel. */
	if (frame_len > l2_len + inner_len && bpf_xdp_adjust_tail(ctx, -(int)(frame_len - l2_len - inner_len)))
		return lb_stat(ctx, LB_STAT_ADJUST_FAILED, XDP_DROP);
	l2_len = lb_push_after_l2(ctx, outer_len, l2_len);
	if (l2_len == 0)
		return lb_stat(ctx, LB_STAT_ADJUST_FAILED, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + l2_len > data_end)
		return XDP_DROP;
	ethertype = data + l2_len - 2;

	if (r->family == LB_FAMILY_IPV4) {
		struct iphdr *oh = data + l2_len;

		if ((void *)(oh + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IP);
		lb_put_ipv4_hdr(oh, tos, inner_len + outer_len, bpf_htons(LB_IP_DF), LB_TUN_TTL, inner_proto,
				(const __u32 *)cfg->tun_src4, (const __u32 *)r->addr);
	} else {
		struct ipv6hdr *oh = data + l2_len;

		if ((void *)(oh + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IPV6);
		lb_put_ipv6_hdr(oh, tos, inner_len, inner_proto, LB_TUN_TTL, (const __u32 *)cfg->tun_src6,
				(const __u32 *)r->addr);
	}
	return lb_l2_out(p->ingress_ifindex, data, data_end, r, counted, inner_len);
}

#endif /* LB_ENCAP_H */
