/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ICMP errors about flows we forward: "fragmentation needed" / "packet too
 * big" (path-MTU discovery) addressed to a VIP or to a NAT client, steered
 * to the flow's real or translated for its client (docs/data-plane.md).
 */
#ifndef LB_ICMP_H
#define LB_ICMP_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_conntrack.h"
#include "lb_csum.h"
#include "lb_maps.h"
#include "lb_packet.h"
#include "lb_parse.h"
#include "lb_sched.h"

/* The packet quoted by an ICMP "fragmentation needed" / ICMPv6 "packet too big" error. */
struct lb_icmp_quote {
	struct lb_flow_key flow; /* the quoted packet's flow reversed (what it answers) */
	struct lb_icmphdr *icmp;
	void *ip;                /* the quoted IP header */
	__be16 *ports;           /* the quoted TCP/UDP header: source port, destination port */
	__u32 ports_off;         /* offset of `ports` from the frame start */
	__u32 ip_end;            /* offset of the end of the outer IP packet from the frame start */
};

/*
 * Finds the quoted packet of a too-big error: an IPv4 header with options, or
 * an IPv6 header directly followed by TCP/UDP, and at least both ports.
 * q->flow is that packet's flow reversed, the key of the flow it belongs to.
 */
static __always_inline int lb_icmp_parse_quote(struct lb_pkt *p, void *data_end, struct lb_icmp_quote *q)
{
	struct lb_icmphdr *icmph = p->l4;
	__u32 ip_hlen;

	if ((void *)(icmph + 1) > data_end)
		return -1;
	q->icmp = icmph;
	q->ip = icmph + 1;
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = q->ip;

		if (icmph->type != LB_ICMP_DEST_UNREACH || icmph->code != LB_ICMP_FRAG_NEEDED)
			return -1;
		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return -1;
		ip_hlen = iph->ihl * 4;
		__builtin_memcpy(q->flow.dst, &iph->saddr, 4);
		__builtin_memcpy(q->flow.src, &iph->daddr, 4);
		q->flow.proto = iph->protocol;
	} else {
		struct ipv6hdr *ip6h = q->ip;

		if (icmph->type != LB_ICMPV6_PKT_TOOBIG)
			return -1;
		if ((void *)(ip6h + 1) > data_end)
			return -1;
		ip_hlen = sizeof(*ip6h);
		__builtin_memcpy(q->flow.dst, &ip6h->saddr, 16);
		__builtin_memcpy(q->flow.src, &ip6h->daddr, 16);
		q->flow.proto = ip6h->nexthdr;
	}
	if (q->flow.proto != IPPROTO_TCP && q->flow.proto != IPPROTO_UDP)
		return -1;
	q->ports = q->ip + ip_hlen;
	if ((void *)(q->ports + 2) > data_end)
		return -1;
	q->flow.dport = q->ports[0];
	q->flow.sport = q->ports[1];
	q->flow.family = p->flow.family;
	q->ports_off = p->l4_off + sizeof(struct lb_icmphdr) + ip_hlen;
	q->ip_end = p->l3_off + p->ip_len;
	return 0;
}

/* Bytes from the quoted TCP/UDP header to its checksum field. */
#define LB_TCP_CSUM_OFF 16
#define LB_UDP_CSUM_OFF 6

/*
 * NAT for the packet inside an ICMP error: one quoted address (the source when
 * `quoted_src`, else the destination) and its port become addr:port. The
 * quoted IPv4 header checksum, the quoted TCP/UDP checksum when the quote
 * reaches it (an IPv4 UDP checksum of 0 stays 0), and the ICMP checksum
 * follow incrementally. The ICMPv6 checksum also covers the outer addresses;
 * a caller that changes one passes it as outer_old/outer_new (else NULL).
 */
static __always_inline int lb_icmp_nat_quote(struct lb_pkt *p, void *data_end, struct lb_icmp_quote *q,
					     const __u8 *addr, __be16 port, int quoted_src, const __u8 *outer_old,
					     const __u8 *outer_new)
{
	__u32 csum_off = q->flow.proto == IPPROTO_TCP ? LB_TCP_CSUM_OFF : LB_UDP_CSUM_OFF;
	__u16 old_port, new_port = port;
	__u16 old_l4c = 0, new_l4c = 0;
	__u16 *l4_check = NULL;
	__be16 *port_field;
	__u16 old[8], new[8];
	__u16 icmp_c;

	if ((void *)(q->icmp + 1) > data_end || (void *)(q->ports + 2) > data_end)
		return -1;
	port_field = quoted_src ? &q->ports[0] : &q->ports[1];
	old_port = *port_field;
	/* The quoted transport checksum, when the router quoted that far. */
	if (q->ports_off + csum_off + 2 <= q->ip_end) {
		__u16 *c = (void *)q->ports + csum_off;

		if ((void *)(c + 1) <= data_end &&
		    !(q->flow.proto == IPPROTO_UDP && q->flow.family == LB_FAMILY_IPV4 && *c == 0))
			l4_check = c;
	}
	icmp_c = q->icmp->checksum;

	if (q->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = q->ip;
		__be32 *field;
		__u16 old_ipc, new_ipc;

		if ((void *)(iph + 1) > data_end)
			return -1;
		field = quoted_src ? &iph->saddr : &iph->daddr;
		__builtin_memcpy(old, field, 4);
		__builtin_memcpy(new, addr, 4);
		old_ipc = iph->check;
		new_ipc = lb_csum_replace(old_ipc, old, new, 2);
		if (l4_check) {
			old_l4c = *l4_check;
			new_l4c = lb_l4_csum_replace(old_l4c, old, new, 2, &old_port, &new_port,
						     q->flow.proto == IPPROTO_UDP);
		}
		/* Every changed word of the ICMP payload moves the ICMP checksum. */
		icmp_c = lb_csum_replace(icmp_c, old, new, 2);
		icmp_c = lb_csum_replace(icmp_c, &old_ipc, &new_ipc, 1);
		iph->check = new_ipc;
		__builtin_memcpy(field, addr, 4);
	} else {
		struct ipv6hdr *ip6h = q->ip;
		struct in6_addr *field;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		field = quoted_src ? &ip6h->saddr : &ip6h->daddr;
		__builtin_memcpy(old, field, 16);
		__builtin_memcpy(new, addr, 16);
		if (l4_check) {
			old_l4c = *l4_check;
			new_l4c = lb_l4_csum_replace(old_l4c, old, new, 8, &old_port, &new_port,
						     q->flow.proto == IPPROTO_UDP);
		}
		icmp_c = lb_csum_replace(icmp_c, old, new, 8);
		if (outer_old && outer_new)
			icmp_c = lb_csum_replace(icmp_c, (const __u16 *)outer_old, (const __u16 *)outer_new, 8);
		__builtin_memcpy(field, addr, 16);
	}
	icmp_c = lb_csum_replace(icmp_c, &old_port, &new_port, 1);
	if (l4_check) {
		icmp_c = lb_csum_replace(icmp_c, &old_l4c, &new_l4c, 1);
		*l4_check = new_l4c;
	}
	*port_field = port;
	q->icmp->checksum = icmp_c;
	return 0;
}

/* Replaces the outer destination address (IPv4 header checksum updated; ICMPv6 is the caller's part). */
static __always_inline int lb_set_outer_dst(struct lb_pkt *p, void *data_end, const __u8 *addr)
{
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;
		__u16 old[2], new[2];

		if ((void *)(iph + 1) > data_end)
			return -1;
		__builtin_memcpy(old, &iph->daddr, 4);
		__builtin_memcpy(new, addr, 4);
		iph->check = lb_csum_replace(iph->check, old, new, 2);
		__builtin_memcpy(&iph->daddr, addr, 4);
	} else {
		struct ipv6hdr *ip6h = p->l3;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		__builtin_memcpy(&ip6h->daddr, addr, 16);
	}
	return 0;
}

/* What lb_icmp_steer decided. */
enum lb_icmp_action {
	LB_ICMP_PASS = 0,      /* not about a flow we forward: the kernel handles it */
	LB_ICMP_TO_REAL,       /* to the flow's real (translated already if NAT) */
	LB_ICMP_TO_CLIENT,     /* translated; route it on to its destination, the client */
	LB_ICMP_DROP,          /* could not be translated */
};

/*
 * ICMP "fragmentation needed" / ICMPv6 "packet too big" about a flow we forward.
 *
 * An error goes to the source of the packet it quotes. Addressed to a VIP, it
 * quotes a packet the client was sent from the VIP (VIP:vport -> client), so
 * the reversed quote is the client's flow and finds its connection entry:
 * - DR and TUN reals hold the VIP: the error goes to the real unchanged
 *   (MAC rewrite, or encapsulated).
 * - NAT reals sent that packet as real:rport -> client before we translated
 *   it: the outer destination becomes the real, the quoted source
 *   VIP:vport becomes real:rport, and the error goes to the real.
 * Addressed to a client (NAT only), it may quote a request we translated
 * (client -> real:rport), sent back by a router between us and the real: the
 * reversed quote is the real's reply flow, lb_nat gives the VIP:vport the
 * client used, the quoted destination becomes VIP:vport, and the error is
 * routed on to the client like a NAT reply.
 *
 * The forwarding itself is the caller's, shared with the other paths: inlined
 * twice, it would not fit the 512-byte stack.
 */
static __always_inline enum lb_icmp_action lb_icmp_steer(struct xdp_md *ctx, struct lb_pkt *p,
							 const struct lb_config *cfg, struct lb_real **real)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_icmp_quote q = {};
	struct lb_conn_ref conns;
	__u32 real_id, service_id;
	struct lb_real *r;

	/* q.flow is the reversed quote: the flow whose packet the quoted one answers. */
	if (lb_icmp_parse_quote(p, data_end, &q))
		return LB_ICMP_PASS;
	if (!lb_conn_ref_of(&q.flow, &conns, cfg) && lb_conn_find(&conns, &q.flow, &real_id, &service_id)) {
		r = lb_live_real(real_id, service_id);
		if (!r)
			return LB_ICMP_PASS;
		if (r->fwd == LB_FWD_NAT) {
			if (r->family != p->flow.family ||
			    lb_icmp_nat_quote(p, data_end, &q, r->addr, r->port, 1, p->flow.dst, r->addr) ||
			    lb_set_outer_dst(p, data_end, r->addr))
				return LB_ICMP_DROP;
		}
		*real = r;
		return LB_ICMP_TO_REAL;
	}
	if (cfg->nat_enabled) {
		struct lb_nat_origin *o = bpf_map_lookup_elem(&lb_nat, &q.flow);

		if (!o)
			return LB_ICMP_PASS;
		if (lb_icmp_nat_quote(p, data_end, &q, o->vip, o->vport, 0, NULL, NULL))
			return LB_ICMP_DROP;
		return LB_ICMP_TO_CLIENT;
	}
	return LB_ICMP_PASS;
}

#endif /* LB_ICMP_H */
