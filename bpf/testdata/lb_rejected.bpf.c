// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test fixture: the real data-plane object (same maps, knobs and lb_xdp)
 * plus one more program the verifier must refuse, so the whole object is
 * rejected the way an old kernel would reject lb_xdp. Proves `lbctl doctor`
 * and `lbctl up` report a verifier rejection.
 */
#include "../lb.bpf.c"

SEC("xdp")
int lb_rejected(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	/* No check against data_end: "invalid access to packet". */
	return data[40] == 0 ? XDP_PASS : XDP_DROP;
}
