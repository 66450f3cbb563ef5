/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing helpers: a cursor walks the headers, every access is checked
 * against data_end, and every loop has a named bound. Each parser returns the
 * next protocol (>= 0) or a negative LB_PARSE_* error.
 */
#ifndef LB_PARSE_H
#define LB_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* 802.1Q / 802.1ad tags accepted in front of the IP header. */
#define LB_MAX_VLAN_DEPTH 1
/* IPv6 extension headers skipped before giving up on a packet. */
#define LB_MAX_IPV6_EXT_HDRS 4

#define LB_PARSE_TRUNCATED -1
#define LB_PARSE_MALFORMED -2

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define LB_IP_MF 0x2000
#define LB_IP_OFFSET 0x1FFF
#define LB_IP_DF 0x4000

/* ICMP and ICMPv6 share this 8-byte layout (linux/icmp.h drags in libc headers). */
struct lb_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest; /* MTU for "fragmentation needed" / "packet too big" */
};

#define LB_ICMP_DEST_UNREACH 3
#define LB_ICMP_FRAG_NEEDED 4
#define LB_ICMPV6_PKT_TOOBIG 2

/*
 * A 16-bit network-order field in host order, as a value the verifier knows
 * is at most 0xffff. Older verifiers (Debian 12's 6.1 among them)
 * forget every bound of a register after a byte swap, and refuse to add such
 * a value to a packet pointer ("math between pkt pointer and register with
 * unbounded min value"). The mask restores the bound; the empty asm hides
 * from clang that the mask is redundant, so it stays in the object.
 * Use it for every length or offset read from a packet.
 */
static __always_inline __u32 lb_ntohs_bounded(__be16 field)
{
	__u32 v = bpf_ntohs(field);

	asm volatile("" : "+r"(v));
	return v & 0xffff;
}

struct hdr_cursor {
	void *pos;
};

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct ipv6_opt_hdr_lb {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ipv6_frag_hdr_lb {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M flag */
	__be32 identification;
};

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet plus up to LB_MAX_VLAN_DEPTH tags; returns the inner EtherType (network order). */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end, struct ethhdr **eth_out)
{
	struct ethhdr *eth = nh->pos;
	__u16 h_proto;

	if ((void *)(eth + 1) > data_end)
		return LB_PARSE_TRUNCATED;
	nh->pos = eth + 1;
	*eth_out = eth;
	h_proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < LB_MAX_VLAN_DEPTH; i++) {
		struct vlan_hdr *vlh = nh->pos;

		if (!proto_is_vlan(h_proto))
			break;
		if ((void *)(vlh + 1) > data_end)
			return LB_PARSE_TRUNCATED;
		h_proto = vlh->encap_proto;
		nh->pos = vlh + 1;
	}
	if (proto_is_vlan(h_proto))
		return LB_PARSE_MALFORMED; /* more tags than we accept */
	return h_proto;
}

/* IPv4 header with options; also validates total length against the frame. */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end, struct iphdr **iph_out)
{
	struct iphdr *iph = nh->pos;
	__u32 tot_len;
	int hdrsize;

	if ((void *)(iph + 1) > data_end)
		return LB_PARSE_TRUNCATED;
	if (iph->version != 4 || iph->ihl < 5)
		return LB_PARSE_MALFORMED;
	hdrsize = iph->ihl * 4;
	if (nh->pos + hdrsize > data_end)
		return LB_PARSE_TRUNCATED;
	tot_len = lb_ntohs_bounded(iph->tot_len);
	if (tot_len < hdrsize)
		return LB_PARSE_MALFORMED;
	if (nh->pos + tot_len > data_end)
		return LB_PARSE_TRUNCATED;
	nh->pos += hdrsize;
	*iph_out = iph;
	return iph->protocol;
}

/*
 * IPv6 header and up to LB_MAX_IPV6_EXT_HDRS extension headers. *frag is set
 * when a fragment header is present (first fragment or not).
 */
static __always_inline int parse_ip6hdr(struct hdr_cursor *nh, void *data_end, struct ipv6hdr **ip6h_out,
					int *frag)
{
	struct ipv6hdr *ip6h = nh->pos;
	__u8 next;

	if ((void *)(ip6h + 1) > data_end)
		return LB_PARSE_TRUNCATED;
	if (ip6h->version != 6)
		return LB_PARSE_MALFORMED;
	if ((void *)(ip6h + 1) + lb_ntohs_bounded(ip6h->payload_len) > data_end)
		return LB_PARSE_TRUNCATED;
	nh->pos = ip6h + 1;
	*ip6h_out = ip6h;
	next = ip6h->nexthdr;

#pragma unroll
	for (int i = 0; i < LB_MAX_IPV6_EXT_HDRS; i++) {
		struct ipv6_opt_hdr_lb *opt = nh->pos;

		if ((void *)(opt + 1) > data_end)
			return LB_PARSE_TRUNCATED;
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			next = opt->nexthdr;
			nh->pos += (opt->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			next = opt->nexthdr;
			nh->pos += (opt->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			*frag = 1;
			next = opt->nexthdr;
			nh->pos += sizeof(struct ipv6_frag_hdr_lb);
			break;
		default:
			return next;
		}
	}
	switch (next) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return LB_PARSE_MALFORMED; /* chain longer than LB_MAX_IPV6_EXT_HDRS */
	}
	return next;
}

/* TCP header including options (data offset validated). */
static __always_inline int parse_tcphdr(struct hdr_cursor *nh, void *data_end, struct tcphdr **tcph_out)
{
	struct tcphdr *tcph = nh->pos;
	int len;

	if ((void *)(tcph + 1) > data_end)
		return LB_PARSE_TRUNCATED;
	len = tcph->doff * 4;
	if (len < (int)sizeof(*tcph))
		return LB_PARSE_MALFORMED;
	if (nh->pos + len > data_end)
		return LB_PARSE_TRUNCATED;
	nh->pos += len;
	*tcph_out = tcph;
	return len;
}

/* UDP header; the length field must cover the header and fit the frame. */
static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end, struct udphdr **udph_out)
{
	struct udphdr *udph = nh->pos;
	int len;

	if ((void *)(udph + 1) > data_end)
		return LB_PARSE_TRUNCATED;
	len = lb_ntohs_bounded(udph->len);
	if (len < (int)sizeof(*udph))
		return LB_PARSE_MALFORMED;
	if (nh->pos + len > data_end)
		return LB_PARSE_TRUNCATED;
	nh->pos = udph + 1;
	*udph_out = udph;
	return len;
}

#endif /* LB_PARSE_H */
