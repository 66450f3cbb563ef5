/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * "Packet too big" answers the director sends itself, as a router would,
 * when a packet would not fit the tunnel to its TUN real: ICMP
 * "fragmentation needed" for IPv4 with DF, ICMPv6 "packet too big" for IPv6.
 */
#ifndef LB_PTB_H
#define LB_PTB_H

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
#include "lb_packet.h"
#include "lb_parse.h"

/* Bytes of the offending packet quoted in ICMP errors we originate. */
#define LB_ICMP_QUOTE_MAX 128
#define LB_ICMP_TTL 64
#define LB_IPV6_MIN_MTU 1280
#define LB_IPTOS_PREC_INTERNETCONTROL 0xc0

/*
 * Answers a packet that would not fit the tunnel as a router would: ICMP
 * "fragmentation needed" (IPv4 with DF) or ICMPv6 "packet too big", from the
 * VIP back to the client, quoting the start of the packet. IPv4 without DF is
 * dropped (a router would fragment; the director does not).
 */
static __always_inline int lb_send_too_big(struct xdp_md *ctx, struct lb_pkt *p, __u32 mtu)
{
	__u32 hdr_len = p->flow.family == LB_FAMILY_IPV4 ? sizeof(struct iphdr) + sizeof(struct lb_icmphdr)
							 : sizeof(struct ipv6hdr) + sizeof(struct lb_icmphdr);
	__u32 quote = p->ip_len < LB_ICMP_QUOTE_MAX ? p->ip_len & ~1U : LB_ICMP_QUOTE_MAX;
	__u32 l2_len = p->l3_off, frame_len, total;
	__u8 client_mac[ETH_ALEN], our_mac[ETH_ALEN];
	/* p->flow lives on the stack, so it survives the head adjustment: client = src, VIP = dst. */
	const __u8 *client = p->flow.src, *vip = p->flow.dst;
	void *data, *data_end;
	struct lb_icmphdr *icmph;
	__u16 *words;
	__u64 sum = 0;
	__be16 *ethertype;

	lb_count(&lb_stats, LB_STAT_TOO_BIG, ctx->data_end - ctx->data, 0);
	if (p->flow.family == LB_FAMILY_IPV4 && !lb_pkt_df(p, (void *)(long)ctx->data_end))
		return XDP_DROP;
	if ((void *)(p->eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	__builtin_memcpy(client_mac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(our_mac, p->eth->h_dest, ETH_ALEN);

	l2_len = lb_push_after_l2(ctx, hdr_len, l2_len);
	if (l2_len == 0)
		return XDP_DROP;
	total = l2_len + hdr_len + quote;
	frame_len = ctx->data_end - ctx->data;
	if (frame_len < total || bpf_xdp_adjust_tail(ctx, -(int)(frame_len - total)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + l2_len > data_end || l2_len < sizeof(struct ethhdr))
		return XDP_DROP;
	__builtin_memcpy(((struct ethhdr *)data)->h_dest, client_mac, ETH_ALEN);
	__builtin_memcpy(((struct ethhdr *)data)->h_source, our_mac, ETH_ALEN);
	ethertype = data + l2_len - 2;

	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *ip = data + l2_len;

		icmph = (void *)(ip + 1);
		if ((void *)(icmph + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IP);
		lb_put_ipv4_hdr(ip, LB_IPTOS_PREC_INTERNETCONTROL, hdr_len + quote, 0, LB_ICMP_TTL, IPPROTO_ICMP,
				(const __u32 *)vip, (const __u32 *)client);
		icmph->type = LB_ICMP_DEST_UNREACH;
		icmph->code = LB_ICMP_FRAG_NEEDED;
		icmph->rest = bpf_htonl(mtu & 0xffff);
	} else {
		struct ipv6hdr *ip6 = data + l2_len;
		const __u16 *src_words = (const __u16 *)vip, *dst_words = (const __u16 *)client;

		icmph = (void *)(ip6 + 1);
		if ((void *)(icmph + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IPV6);
		lb_put_ipv6_hdr(ip6, 0, sizeof(*icmph) + quote, IPPROTO_ICMPV6, LB_ICMP_TTL, (const __u32 *)vip,
				(const __u32 *)client);
		icmph->type = LB_ICMPV6_PKT_TOOBIG;
		icmph->code = 0;
		icmph->rest = bpf_htonl(mtu < LB_IPV6_MIN_MTU ? LB_IPV6_MIN_MTU : mtu);
		/* Pseudo-header: addresses, upper-layer length, next header. */
#pragma unroll
		for (int i = 0; i < 8; i++)
			sum += src_words[i] + dst_words[i];
		sum += bpf_htons(sizeof(*icmph) + quote);
		sum += bpf_htons(IPPROTO_ICMPV6);
	}
	icmph->checksum = 0;
	/* ICMP checksum over its header and the quote (bounded word loop). */
	words = (void *)icmph;
	for (int i = 0; i < (int)(sizeof(*icmph) + LB_ICMP_QUOTE_MAX) / 2; i++) {
		if ((void *)(words + i + 1) > data_end)
			break;
		sum += words[i];
	}
	icmph->checksum = ~lb_csum_fold(sum);
	return XDP_TX;
}

#endif /* LB_PTB_H */
