// SPDX-License-Identifier: GPL-2.0
/* Test fixture: reads the packet without a bounds check, which the verifier
 * must reject. Used to prove load errors carry the verifier log. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[20] == 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
