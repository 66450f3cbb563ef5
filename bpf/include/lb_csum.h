/* SPDX-License-Identifier: GPL-2.0-only */
/* Internet checksum helpers: incremental updates (RFC 1624) and a full header sum. */
#ifndef LB_CSUM_H
#define LB_CSUM_H

#include <linux/types.h>

static __always_inline __u16 lb_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * New checksum after the 16-bit words old[0..n) became new[0..n). Words are
 * taken as stored (network order); one's complement sums are byte-order neutral.
 */
static __always_inline __u16 lb_csum_replace(__u16 check, const __u16 *old, const __u16 *new, int n)
{
	__u64 sum = (__u16)~check;

#pragma unroll
	for (int i = 0; i < n; i++) {
		sum += (__u16)~old[i];
		sum += new[i];
	}
	return (__u16)~lb_csum_fold(sum);
}

/*
 * A TCP/UDP checksum after n address words and the port changed. UDP sends a
 * computed 0 as 0xffff, since 0 means "no checksum".
 */
static __always_inline __u16 lb_l4_csum_replace(__u16 check, const __u16 *old, const __u16 *new, int n,
						const __u16 *old_port, const __u16 *new_port, int udp)
{
	__u16 c = lb_csum_replace(lb_csum_replace(check, old, new, n), old_port, new_port, 1);

	return c == 0 && udp ? 0xffff : c;
}

/* Checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __u16 lb_ipv4_header_csum(const __u16 *words)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += words[i];
	return (__u16)~lb_csum_fold(sum);
}

#endif /* LB_CSUM_H */
