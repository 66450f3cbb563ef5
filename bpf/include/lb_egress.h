/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How a frame leaves: to a real's next hop with a MAC rewrite (XDP_TX on the
 * ingress interface, else a redirect through lb_tx_ports), or routed by a
 * FIB lookup as a router would (NAT replies, ICMP errors for clients).
 */
#ifndef LB_EGRESS_H
#define LB_EGRESS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_counters.h"
#include "lb_csum.h"
#include "lb_maps.h"
#include "lb_packet.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/*
 * Writes both MAC addresses of the Ethernet header from lb_real's mac and
 * src_mac, which lie side by side in the same order (12 bytes from a 4-byte
 * aligned offset), as three 32-bit words. memcpy of the u8 arrays would move
 * twelve single bytes (48 instructions instead of 12); words of 16 bits took
 * 24.
 */
_Static_assert(__builtin_offsetof(struct lb_real, mac) % 4 == 0, "lb_real.mac is 4-byte aligned");
_Static_assert(__builtin_offsetof(struct lb_real, src_mac) == __builtin_offsetof(struct lb_real, mac) + ETH_ALEN,
	       "lb_real.src_mac follows lb_real.mac, as h_source follows h_dest");

static __always_inline void lb_copy_macs(struct ethhdr *eth, const struct lb_real *r)
{
	__u32 *d = (__u32 *)eth->h_dest;
	const __u32 *s = (const __u32 *)r->mac;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

/*
 * ingress_ifindex: the packet's (struct lb_pkt has it, read before parsing).
 * eth comes with no known room (lb_forget_parse_path), so it is checked here.
 * A frame that leaves is counted as forwarded in `counted` (ip_len bytes).
 */
static __always_inline int lb_l2_out(__u32 ingress_ifindex, struct ethhdr *eth, void *data_end,
				     const struct lb_real *r, struct lb_real_counters *counted, __u32 ip_len)
{
	int rc;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	lb_copy_macs(eth, r);
	if (r->ifindex == 0 || r->ifindex == ingress_ifindex) {
		lb_count_forwarded(counted, ip_len);
		return XDP_TX;
	}
	rc = bpf_redirect_map(&lb_tx_ports, r->ifindex, 0);
	if (rc == XDP_REDIRECT)
		lb_count_forwarded(counted, ip_len);
	return rc;
}

/*
 * Sends a translated packet on to its destination as a router would: a FIB
 * lookup (addresses and ports as they are now, for multipath hashing) picks
 * the next hop, the hop count drops by one, and the frame leaves via XDP_TX
 * or a redirect. What the FIB cannot resolve here goes to the kernel, which
 * forwards it.
 */
static __always_inline int lb_route_out(struct xdp_md *ctx, struct lb_pkt *p)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = p->flow.proto;
	fib.tot_len = p->ip_len;
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;

		if ((void *)(iph + 1) > data_end)
			return XDP_DROP;
		fib.family = AF_INET;
		fib.tos = iph->tos;
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
	} else {
		struct ipv6hdr *ip6h = p->l3;

		if ((void *)(ip6h + 1) > data_end)
			return XDP_DROP;
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, 16);
	}
	if (p->flow.proto == IPPROTO_TCP || p->flow.proto == IPPROTO_UDP) {
		__be16 *ports = p->l4;

		if ((void *)(ports + 2) > data_end)
			return XDP_DROP;
		fib.sport = ports[0];
		fib.dport = ports[1];
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS; /* the kernel forwards the translated packet (or resolves the neighbour) */

	/* Routed: the hop count drops as in any router; at the limit the kernel answers. */
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;
		__u16 old, new;

		if ((void *)(iph + 1) > data_end || iph->ttl <= 1)
			return XDP_PASS;
		__builtin_memcpy(&old, &iph->ttl, 2);
		iph->ttl--;
		__builtin_memcpy(&new, &iph->ttl, 2);
		iph->check = lb_csum_replace(iph->check, &old, &new, 1);
	} else {
		struct ipv6hdr *ip6h = p->l3;

		if ((void *)(ip6h + 1) > data_end || ip6h->hop_limit <= 1)
			return XDP_PASS;
		ip6h->hop_limit--;
	}
	if ((void *)(p->eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(p->eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, fib.smac, ETH_ALEN);
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect_map(&lb_tx_ports, fib.ifindex, XDP_PASS);
}

#endif /* LB_EGRESS_H */
