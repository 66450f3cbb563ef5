/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NAT (ipvsadm -m): rewriting one address and port with incremental checksum
 * updates, the reverse entry a new NAT flow leaves in lb_nat, and the
 * translation of a real's reply back to the VIP:port its client used.
 */
#ifndef LB_NAT_H
#define LB_NAT_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_counters.h"
#include "lb_csum.h"
#include "lb_maps.h"
#include "lb_packet.h"

/* Rewrites one address (and port) of the packet with incremental checksum updates. */
static __always_inline int lb_nat_rewrite(struct lb_pkt *p, void *data_end, const __u8 *addr, __be16 port,
					  int rewrite_dst)
{
	__u16 old_port, new_port = port;
	__u16 *l4_check = NULL;
	__be16 *l4_port;
	int udp_zero = 0;

	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcph = p->l4;

		if ((void *)(tcph + 1) > data_end)
			return -1;
		l4_check = &tcph->check;
		l4_port = rewrite_dst ? &tcph->dest : &tcph->source;
	} else {
		struct udphdr *udph = p->l4;

		if ((void *)(udph + 1) > data_end)
			return -1;
		l4_check = &udph->check;
		l4_port = rewrite_dst ? &udph->dest : &udph->source;
		/* IPv4 UDP without checksum stays without one. */
		udp_zero = p->flow.family == LB_FAMILY_IPV4 && udph->check == 0;
	}
	old_port = *l4_port;

	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;
		__u16 old[2], new[2];
		__be32 *field;

		if ((void *)(iph + 1) > data_end)
			return -1;
		field = rewrite_dst ? &iph->daddr : &iph->saddr;
		__builtin_memcpy(old, field, 4);
		__builtin_memcpy(new, addr, 4);
		iph->check = lb_csum_replace(iph->check, old, new, 2);
		if (!udp_zero)
			*l4_check = lb_l4_csum_replace(*l4_check, old, new, 2, &old_port, &new_port,
						       p->flow.proto == IPPROTO_UDP);
		__builtin_memcpy(field, addr, 4);
	} else {
		struct ipv6hdr *ip6h = p->l3;
		__u16 old[8], new[8];
		struct in6_addr *field;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		field = rewrite_dst ? &ip6h->daddr : &ip6h->saddr;
		__builtin_memcpy(old, field, 16);
		__builtin_memcpy(new, addr, 16);
		*l4_check = lb_l4_csum_replace(*l4_check, old, new, 8, &old_port, &new_port,
					       p->flow.proto == IPPROTO_UDP);
		__builtin_memcpy(field, addr, 16);
	}
	*l4_port = port;
	return 0;
}

/* Remembers a new NAT flow's reply flow {real -> client}, so its replies leave as VIP:port. */
static __always_inline void lb_nat_track(const struct lb_pkt *p, const struct lb_real *r, __u32 real_id, __u64 now)
{
	struct lb_flow_key reply = {};
	struct lb_nat_origin origin = {};

	__builtin_memcpy(reply.src, r->addr, 16);
	__builtin_memcpy(reply.dst, p->flow.src, 16);
	reply.sport = r->port;
	reply.dport = p->flow.sport;
	reply.proto = p->flow.proto;
	reply.family = p->flow.family;
	__builtin_memcpy(origin.vip, p->flow.dst, 16);
	origin.vport = p->flow.dport;
	origin.real_id = real_id;
	origin.last_seen_ns = now;
	bpf_map_update_elem(&lb_nat, &reply, &origin, BPF_ANY);
}

/*
 * NAT replies: a real's answer leaves with the VIP:port the client talked to.
 * Returns 0 when translated (the caller routes it on), -1 when not a reply,
 * or a verdict.
 */
static __always_inline int lb_nat_reply(struct xdp_md *ctx, struct lb_pkt *p, __u64 now)
{
	struct lb_nat_origin *o = bpf_map_lookup_elem(&lb_nat, &p->flow);
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_real_counters *rc;
	__u32 real_id;

	if (!o)
		return -1;
	o->last_seen_ns = now;
	real_id = o->real_id;
	if (lb_nat_rewrite(p, data_end, o->vip, o->vport, 0))
		return lb_stat(ctx, LB_STAT_MALFORMED, XDP_DROP);
	rc = lb_real_counters_of(real_id);
	if (rc) {
		rc->reply_packets++;
		rc->reply_bytes += p->ip_len;
	}
	lb_count(&lb_stats, LB_STAT_NAT_REPLY, ctx->data_end - ctx->data, 0);
	return 0;
}

#endif /* LB_NAT_H */
