// SPDX-License-Identifier: GPL-2.0-only
/* Traffic generator for the end-to-end bench, run with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES: every run rewrites the template frame (an
 * Ethernet + IPv4 + UDP frame) into the next of `tg_flows` flows and
 * transmits it (XDP_TX) out of the interface the run names. Flow n uses
 * source address base + (n >> 14) and source port 1024 + (n & 0x3fff), so a
 * million flows stay inside a /16. The frame is rewritten every time, since
 * live frames keep whatever a previous run left in their page. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Number of distinct flows to cycle through (at least 1). */
const volatile __u32 tg_flows = 1;
/* First source address, host byte order. */
const volatile __u32 tg_source_base = 0x0ac80000; /* 10.200.0.0 */

/* Frames generated so far (the next flow is this modulo tg_flows). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tg_sequence SEC(".maps");

static __always_inline __u16 ip_checksum(struct iphdr *ip)
{
	__u16 *words = (__u16 *)ip;
	__u32 sum = 0;

	ip->check = 0;
#pragma unroll
	for (int i = 0; i < (int)sizeof(*ip) / 2; i++)
		sum += words[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int tg_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 zero = 0;

	if ((void *)(udp + 1) > data_end || ip->ihl != 5)
		return XDP_ABORTED;
	__u64 *seq = bpf_map_lookup_elem(&tg_sequence, &zero);
	if (!seq)
		return XDP_ABORTED;
	__u32 flows = tg_flows ? tg_flows : 1;
	__u32 flow = (__u32)(*seq % flows);
	(*seq)++;

	ip->saddr = bpf_htonl(tg_source_base + (flow >> 14));
	ip->check = ip_checksum(ip);
	udp->source = bpf_htons(1024 + (flow & 0x3fff));
	udp->check = 0; /* optional for UDP over IPv4 */
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
