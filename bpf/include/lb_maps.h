/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every map of the lb program, one purpose each. Sizes here are placeholders:
 * user space sets the real ones before load. The value types live in
 * lb_abi.h, the one header shared with user space.
 */
#ifndef LB_MAPS_H
#define LB_MAPS_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"

/*
 * Virtual services: sets of LB_SVC_WAYS {VIP, port, proto, family} -> service
 * entries in an array. User space places each key with the hashes the program
 * uses (lb_hash_service), so a lookup is inline code: no helper call.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct lb_service_set);
} lb_services SEC(".maps");

/* Real servers by real id (0 = none). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct lb_real);
} lb_reals SEC(".maps");

/*
 * Scheduling rings: entry service_id * 2 + slot; the slot's service settings,
 * then the rr/wrr sequence or Maglev table of real ids.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, struct lb_ring);
} lb_rings SEC(".maps");

/* Round-robin position per service (shared by all CPUs so rr alternates globally). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} lb_rr_pos SEC(".maps");

/*
 * Connection table: client flow -> real, with last-seen time for ipvsadm-style
 * timeouts. Set-associative (LB_CONN_WAYS entries per set) in an array, so a
 * lookup or insert is inline code: no helper call, no bucket lock.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct lb_conn_set);
} lb_conns SEC(".maps");

/* Persistence templates: {masked client address, service} -> real (ipvsadm -p). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lb_persist_key);
	__type(value, struct lb_persist);
} lb_persist SEC(".maps");

/* NAT reverse table: reply flow {real -> client} -> the VIP:port it must come from. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct lb_flow_key);
	__type(value, struct lb_nat_origin);
} lb_nat SEC(".maps");

/* Egress interfaces for redirects to an interface other than the ingress one (not pinned: rebuilt from lb_reals). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} lb_tx_ports SEC(".maps");

/* Runtime knobs: timeouts, tunnel source and MTU (one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} lb_config SEC(".maps");

/* Global per-CPU counters indexed by enum lb_stat_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_STAT_SLOTS);
	__type(key, __u32);
	__type(value, struct lb_counters);
} lb_stats SEC(".maps");

/*
 * Per service id: the totals of the reals the service has lost (removed, or
 * replaced by a new id). Written by user space only, which adds the live
 * reals' counters to them: a forwarded packet makes one counter lookup, its
 * real's (lb_real_counters), not one for its service too.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct lb_counters);
} lb_service_stats SEC(".maps");

/* Per-CPU counters per real id: scheduled, forwarded, NAT replies. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct lb_real_counters);
} lb_real_stats SEC(".maps");

/*
 * Connection-sync events (struct lb_sync_conn records) for user space, which
 * batches them into IPVS sync messages. Sized by user space (one page when
 * sync is off); never pinned: a restarted daemon starts a fresh stream.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} lb_sync_events SEC(".maps");

static __always_inline struct lb_config *lb_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lb_config, &zero);
}

#endif /* LB_MAPS_H */
