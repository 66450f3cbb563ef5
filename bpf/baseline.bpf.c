// SPDX-License-Identifier: GPL-2.0-only
/* Benchmark baseline: the least an XDP program does (touch one per-CPU counter). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* One per-CPU packet counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} baseline_packets SEC(".maps");

SEC("xdp")
int baseline_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&baseline_packets, &zero);

	if (n)
		(*n)++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
