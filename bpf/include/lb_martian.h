/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sources no host may send from. A new flow from one is dropped before it is
 * scheduled: its replies could never reach a client, and a forged one would
 * only fill the connection table. The list is the kernel's own martian
 * sources (ip_route_input_slow, ip6_rcv_core), plus the VIP itself (a local
 * address arriving from outside) and source port 0.
 */
#ifndef LB_MARTIAN_H
#define LB_MARTIAN_H

#include <linux/types.h>
#include <bpf/bpf_endian.h>

#include "lb_abi.h"
#include "lb_packet.h"

/* IPv4: 0.0.0.0/8, 127.0.0.0/8, multicast 224.0.0.0/4, 255.255.255.255. */
static __always_inline int lb_martian_v4(__be32 src)
{
	__u32 a = bpf_ntohl(src);
	__u32 first = a >> 24;

	return first == 0 || first == 127 || (first & 0xf0) == 0xe0 || a == 0xffffffff;
}

/* IPv6: unspecified ::, loopback ::1, multicast ff00::/8, IPv4-mapped ::ffff:0:0/96. */
static __always_inline int lb_martian_v6(const __u8 *src)
{
	__u32 w[4];

	__builtin_memcpy(w, src, 16);
	if (src[0] == 0xff)
		return 1;
	if (w[0] != 0 || w[1] != 0)
		return 0;
	if (w[2] == bpf_htonl(0x0000ffff))
		return 1;
	return w[2] == 0 && (w[3] == 0 || w[3] == bpf_htonl(1));
}

/* The packet's source address may not open a flow (the VIP itself included). */
static __always_inline int lb_martian_source(const struct lb_pkt *p)
{
	const __u64 *src = (const void *)p->flow.src, *dst = (const void *)p->flow.dst;
	__be32 src4;

	if (src[0] == dst[0] && src[1] == dst[1])
		return 1;
	if (p->flow.family == LB_FAMILY_IPV6)
		return lb_martian_v6(p->flow.src);
	__builtin_memcpy(&src4, p->flow.src, 4);
	return lb_martian_v4(src4);
}

#endif /* LB_MARTIAN_H */
