// SPDX-License-Identifier: GPL-2.0
/* The smallest useful XDP program: counts frames per class in a per-CPU
 * array and returns a configurable verdict. It proves the whole tool chain
 * (build, load, rodata, maps, attach, test runs) and is the bench baseline. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "counter_abi.h"

/* Verdict for every frame; set before load (XDP_PASS unless told otherwise). */
const volatile __u32 counter_verdict = XDP_PASS;

/* Frames and bytes seen, per class, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_CLASS_MAX);
	__type(key, __u32);
	__type(value, struct counter_value);
} counters SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 key = COUNTER_OTHER;

	if ((void *)(eth + 1) <= data_end) {
		if (eth->h_proto == bpf_htons(ETH_P_IP))
			key = COUNTER_IPV4;
		else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
			key = COUNTER_IPV6;
		else if (eth->h_proto == bpf_htons(ETH_P_ARP))
			key = COUNTER_ARP;
	}

	struct counter_value *value = bpf_map_lookup_elem(&counters, &key);
	if (value) {
		value->packets++;
		value->bytes += data_end - data;
	}
	return counter_verdict;
}

char LICENSE[] SEC("license") = "GPL";
