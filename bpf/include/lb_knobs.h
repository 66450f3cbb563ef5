/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Static knobs: `const volatile` globals that user space writes into .rodata
 * before load (src/dataplane/xdp-dataplane.ts). The verifier sees their values,
 * so a branch on a knob costs nothing at run time.
 */
#ifndef LB_KNOBS_H
#define LB_KNOBS_H

#include <linux/bpf.h>
#include <linux/types.h>

/* Verdict for packets whose headers fail validation (XDP_PASS lets the kernel count and drop). */
const volatile __u32 lb_malformed_verdict = XDP_PASS;
/* Verdict for IP fragments (they carry no ports, so they cannot be scheduled). */
const volatile __u32 lb_fragment_verdict = XDP_PASS;
/*
 * lb_conns holds 2^(32 - this) sets; a flow's sets are the top bits of its
 * two hashes (hash >> this: lb_set_of).
 */
const volatile __u32 lb_conn_set_shift = 16;
/* lb_services holds 2^(32 - this) sets; a service key's sets are the top bits of its two hashes. */
const volatile __u32 lb_svc_set_shift = 26;
/*
 * IPVS's sloppy_tcp: 0 (the default, as in IPVS) lets only a SYN without RST
 * open a TCP flow, so bare ACKs cannot fill the connection table; 1 lets any
 * TCP segment without RST open one (a director taking over established flows
 * without connection sync keeps them on their reals with mh/sh).
 */
const volatile __u32 lb_sloppy_tcp = 0;
/*
 * Nanoseconds per jiffy (10^9 / CONFIG_HZ). The clock is jiffies because the
 * verifier inlines bpf_jiffies64() while every real helper call costs a call
 * and a return; 0 (HZ unknown) falls back to bpf_ktime_get_coarse_ns().
 */
const volatile __u64 lb_ns_per_jiffy = 0;

/*
 * Connection sync: 1 makes the program report new flows and their state
 * changes in lb_sync_events. 0 (the default) compiles the reports out.
 */
const volatile __u32 lb_sync_enabled = 0;

#endif /* LB_KNOBS_H */
