/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A packet as the program sees it: the parse of one frame into struct lb_pkt
 * (header pointers, flow key, lengths), using the bounded parsers of
 * lb_parse.h, and the step that lets the verifier check everything after
 * parsing once for every parse path; and room opened in front of the IP
 * header, with the fresh IPv4/IPv6 headers written there (encapsulation,
 * ICMP answers).
 */
#ifndef LB_PACKET_H
#define LB_PACKET_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lb_abi.h"
#include "lb_csum.h"
#include "lb_parse.h"

/* What the parser learned about a packet. */
struct lb_pkt {
	struct lb_flow_key flow;
	struct ethhdr *eth;
	void *l3;
	void *l4;
	__u32 ip_len;    /* IP header + payload, as the IP header says */
	__u8 tcp_flags;
	/* Header offsets from the frame start (set with the pointers above); l3_off is the link-layer length. */
	__u16 l3_off;
	__u16 l4_off;
	__u32 ingress_ifindex; /* read before parsing: three dependent loads, overlapped with the parse */
};

/*
 * The flow key is written as 64-bit words (lb_flow_key_ipv4, lb_flow_tail_of)
 * and the flow hash and the entry compare read it as such words. A narrower
 * store under a wider load (or a narrower load of part of a wider store, on
 * some CPUs) is not forwarded from the store buffer: the load waits until the
 * store has retired, and that wait was on every packet's path to its
 * connection entry (docs/data-plane.md).
 */
static __always_inline __u64 lb_flow_tail_of(__u32 ports, __u8 proto, __u8 family)
{
	return ports | (__u64)proto << 32 | (__u64)family << 40;
}

/* Words 0-3 of an IPv4 flow key: each address alone in the low half of its word. */
static __always_inline void lb_flow_key_ipv4(struct lb_flow_key *flow, const struct iphdr *iph)
{
	__u64 *key = (__u64 *)flow;

	key[0] = iph->saddr;
	key[1] = 0;
	key[2] = iph->daddr;
	key[3] = 0;
}

/* Words 0-3 of an IPv6 flow key: the two addresses, which sit side by side in the header. */
static __always_inline void lb_flow_key_ipv6(struct lb_flow_key *flow, const struct ipv6hdr *ip6h)
{
	const __u64 *addrs = (const __u64 *)&ip6h->saddr;
	__u64 *key = (__u64 *)flow;

	key[0] = addrs[0];
	key[1] = addrs[1];
	key[2] = addrs[2];
	key[3] = addrs[3];
}

/* The key's last word (ports, proto, family) as one load; the asm keeps clang from narrowing it. */
static __always_inline __u64 lb_flow_tail(const struct lb_flow_key *flow)
{
	__u64 w = ((const __u64 *)flow)[4];

	asm volatile("" : "+r"(w));
	return w;
}

static __always_inline __u8 lb_flow_proto(const struct lb_flow_key *flow)
{
	return lb_flow_tail(flow) >> 32;
}

static __always_inline __u8 lb_flow_family(const struct lb_flow_key *flow)
{
	return lb_flow_tail(flow) >> 40;
}

enum lb_parse_result {
	LB_P_L4 = 0,   /* TCP or UDP with ports */
	LB_P_ICMP,     /* ICMP or ICMPv6 */
	LB_P_OTHER,    /* IP with another protocol */
	LB_P_NOT_IP,
	LB_P_FRAGMENT,
	LB_P_MALFORMED,
};

#define LB_TCP_FLAG_FIN 0x01
#define LB_TCP_FLAG_SYN 0x02
#define LB_TCP_FLAG_RST 0x04
#define LB_TCP_FLAG_ACK 0x10


/* The L4 header; writes the flow key's last word (ports 0 for ICMP and other protocols). */
static __always_inline int lb_parse_l4(struct hdr_cursor *nh, void *data_end, struct lb_pkt *p, __u8 proto,
				       __u8 family)
{
	__u64 *key = (__u64 *)&p->flow;
	struct tcphdr *tcph;
	struct udphdr *udph;

	p->l4 = nh->pos;
	switch (proto) {
	case IPPROTO_TCP:
		if (parse_tcphdr(nh, data_end, &tcph) < 0)
			return LB_P_MALFORMED;
		key[4] = lb_flow_tail_of(*(__u32 *)tcph, proto, family);
		p->tcp_flags = ((__u8 *)tcph)[13];
		return LB_P_L4;
	case IPPROTO_UDP:
		if (parse_udphdr(nh, data_end, &udph) < 0)
			return LB_P_MALFORMED;
		key[4] = lb_flow_tail_of(*(__u32 *)udph, proto, family);
		return LB_P_L4;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		key[4] = lb_flow_tail_of(0, proto, family);
		return LB_P_ICMP;
	default:
		key[4] = lb_flow_tail_of(0, proto, family);
		return LB_P_OTHER;
	}
}

/* Room for the headers of the common frame, checked once (a shorter UDP frame takes the header-by-header walk). */
#define LB_COMMON_HDRS (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr))

/*
 * The common frame: Ethernet without a tag, IPv4 without options and not a
 * fragment, TCP or UDP, at least LB_COMMON_HDRS long. One bounds check
 * covers every fixed field; the lengths read from the headers are checked
 * as the header-by-header walk checks them, with the same results, and p is
 * filled as that walk fills it. Returns an LB_P_* result, or -1 for any
 * other frame (lb_parse then walks it header by header).
 */
static __always_inline int lb_parse_common(void *data, void *data_end, struct lb_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	void *l4 = iph + 1;
	__u32 tot_len, len;
	__u8 proto;

	if (data + LB_COMMON_HDRS > data_end)
		return -1;
	/* h_proto is at an even offset: one 16-bit load (struct ethhdr is packed, so clang would load bytes). */
	if (((__u16 *)data)[6] != bpf_htons(ETH_P_IP) || *(__u8 *)iph != 0x45 ||
	    (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET)))
		return -1;
	proto = iph->protocol;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -1;
	tot_len = lb_ntohs_bounded(iph->tot_len);
	if (tot_len < sizeof(*iph) || (void *)iph + tot_len > data_end)
		return LB_P_MALFORMED;
	if (proto == IPPROTO_TCP) {
		len = ((struct tcphdr *)l4)->doff * 4;
		if (len < sizeof(struct tcphdr) || l4 + len > data_end)
			return LB_P_MALFORMED;
		p->tcp_flags = ((__u8 *)l4)[13];
	} else {
		len = lb_ntohs_bounded(((struct udphdr *)l4)->len);
		if (len < sizeof(struct udphdr) || l4 + len > data_end)
			return LB_P_MALFORMED;
	}
	lb_flow_key_ipv4(&p->flow, iph);
	((__u64 *)&p->flow)[4] = lb_flow_tail_of(*(__u32 *)l4, proto, LB_FAMILY_IPV4);
	p->l3 = iph;
	p->l4 = l4;
	p->ip_len = tot_len;
	return LB_P_L4;
}

static __always_inline int lb_parse(void *data, void *data_end, struct lb_pkt *p)
{
	struct hdr_cursor nh = { .pos = data };
	struct iphdr *iph;
	struct ipv6hdr *ip6h;
	int proto, frag = 0;
	__u8 family;

	proto = lb_parse_common(data, data_end, p);
	if (proto >= 0)
		return proto;
	proto = parse_ethhdr(&nh, data_end, &p->eth);
	if (proto == LB_PARSE_TRUNCATED)
		return LB_P_NOT_IP;
	if (proto < 0)
		return LB_P_MALFORMED;
	p->l3 = nh.pos;

	if (proto == bpf_htons(ETH_P_IP)) {
		proto = parse_iphdr(&nh, data_end, &iph);
		if (proto < 0)
			return LB_P_MALFORMED;
		lb_flow_key_ipv4(&p->flow, iph);
		family = LB_FAMILY_IPV4;
		p->ip_len = lb_ntohs_bounded(iph->tot_len);
		if (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET))
			return LB_P_FRAGMENT;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		proto = parse_ip6hdr(&nh, data_end, &ip6h, &frag);
		if (proto < 0)
			return LB_P_MALFORMED;
		lb_flow_key_ipv6(&p->flow, ip6h);
		family = LB_FAMILY_IPV6;
		p->ip_len = sizeof(*ip6h) + lb_ntohs_bounded(ip6h->payload_len);
		if (frag)
			return LB_P_FRAGMENT;
	} else {
		return LB_P_NOT_IP;
	}
	return lb_parse_l4(&nh, data_end, p, proto, family);
}

/* Upper bounds on header offsets, so offsets held as plain numbers stay provably in range. */
#define LB_MAX_L3_OFF 64
#define LB_MAX_L4_OFF 512

/*
 * Makes the verifier forget which parse path produced p's header pointers.
 * Each combination of VLAN tag, IPv6 extension headers and protocol leaves
 * pointers with different known offsets, and the verifier walked everything
 * after parsing once per combination (400,000-700,000 instructions of the
 * 1,000,000 limit, and 6-11 s per load; now about 100,000 and 0.1 s). XORing the offsets with
 * cfg->zero, always 0 but unknown to the verifier, turns them into bounded
 * unknowns: one walk covers every path, at the cost of two XORs per packet.
 * The frame start is taken afresh as well (with no known room: its users
 * check it): lb_parse_common leaves it with 54 bytes of known room and the
 * header-by-header walk with 14 or 18, and that difference alone made the
 * verifier walk the rest of the program once more.
 */
static __always_inline int lb_forget_parse_path(struct xdp_md *ctx, struct lb_pkt *p, const struct lb_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	__u64 l3 = (__u64)(p->l3 - data) ^ cfg->zero;
	__u64 l4 = (__u64)(p->l4 - data) ^ cfg->zero;

	/* Bound the very registers that are added to data below. */
	asm volatile("" : "+r"(l3), "+r"(l4));
	if (l3 > LB_MAX_L3_OFF || l4 > LB_MAX_L4_OFF)
		return -1;
	p->eth = data;
	p->l3 = data + l3;
	p->l4 = data + l4;
	p->l3_off = l3;
	p->l4_off = l4;
	return 0;
}

/*
 * The IP header's traffic class (IPv4 TOS, IPv6 traffic class) and IPv4's
 * don't-fragment bit, read from the header where a path needs them (TUN,
 * routing, "too big") rather than stored by every packet's parse. The parse
 * checked these bytes; the bound here is for the verifier (p->l3 comes from
 * lb_forget_parse_path with no known room).
 */
static __always_inline __u8 lb_pkt_tos(const struct lb_pkt *p, void *data_end)
{
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;

		if ((void *)(iph + 1) > data_end)
			return 0;
		return iph->tos;
	} else {
		struct ipv6hdr *ip6h = p->l3;

		if ((void *)(ip6h + 1) > data_end)
			return 0;
		return (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
	}
}

/* IPv4 only. */
static __always_inline int lb_pkt_df(const struct lb_pkt *p, void *data_end)
{
	struct iphdr *iph = p->l3;

	if ((void *)(iph + 1) > data_end)
		return 0;
	return !!(iph->frag_off & bpf_htons(LB_IP_DF));
}

/*
 * Opens `len` bytes between the link-layer header (with its VLAN tag, if any)
 * and the IP header. Returns the link-layer header length, or 0 on failure.
 */
static __always_inline __u32 lb_push_after_l2(struct xdp_md *ctx, __u32 len, __u32 l2_len)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)len))
		return 0;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2_len > sizeof(struct ethhdr)) {
		if (data + len + sizeof(struct ethhdr) + sizeof(struct vlan_hdr) > data_end)
			return 0;
		__builtin_memmove(data, data + len, sizeof(struct ethhdr) + sizeof(struct vlan_hdr));
		return sizeof(struct ethhdr) + sizeof(struct vlan_hdr);
	}
	if (data + len + sizeof(struct ethhdr) > data_end)
		return 0;
	__builtin_memmove(data, data + len, sizeof(struct ethhdr));
	return sizeof(struct ethhdr);
}

/*
 * Writes a 20-byte IPv4 header (no options, id 0) and its checksum; the
 * caller has bounds-checked it. Addresses come as 4-byte aligned words
 * (every address field of the ABI is), so clang copies them whole.
 */
static __always_inline void lb_put_ipv4_hdr(struct iphdr *ip, __u8 tos, __u16 tot_len, __be16 frag_off, __u8 ttl,
					    __u8 proto, const __u32 *saddr, const __u32 *daddr)
{
	__u16 words[10];

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = tos;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = frag_off;
	ip->ttl = ttl;
	ip->protocol = proto;
	ip->check = 0;
	__builtin_memcpy(&ip->saddr, saddr, 4);
	__builtin_memcpy(&ip->daddr, daddr, 4);
	__builtin_memcpy(words, ip, sizeof(words));
	ip->check = lb_ipv4_header_csum(words);
}

/* Writes a 40-byte IPv6 header (flow label 0); the caller has bounds-checked it. */
static __always_inline void lb_put_ipv6_hdr(struct ipv6hdr *ip6, __u8 tclass, __u16 payload_len, __u8 nexthdr,
					    __u8 hop_limit, const __u32 *saddr, const __u32 *daddr)
{
	ip6->version = 6;
	ip6->priority = tclass >> 4;
	ip6->flow_lbl[0] = (tclass & 0xf) << 4;
	ip6->flow_lbl[1] = 0;
	ip6->flow_lbl[2] = 0;
	ip6->payload_len = bpf_htons(payload_len);
	ip6->nexthdr = nexthdr;
	ip6->hop_limit = hop_limit;
	__builtin_memcpy(&ip6->saddr, saddr, 16);
	__builtin_memcpy(&ip6->daddr, daddr, 16);
}

#endif /* LB_PACKET_H */
