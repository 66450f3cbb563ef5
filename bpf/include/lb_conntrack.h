/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection tracking: the program's clock, ipvsadm-style timeouts, and the
 * set-associative connection table lb_conns (find a flow's entry, pick the
 * entry a new flow takes, record a flow). Every lookup and insert is inline
 * code over an array value: no helper call, no lock (docs/data-plane.md).
 */
#ifndef LB_CONNTRACK_H
#define LB_CONNTRACK_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_hash.h"
#include "lb_knobs.h"
#include "lb_maps.h"
#include "lb_packet.h"

#define LB_NS_PER_S 1000000000ULL

/* IPVS's SYN_RECV timeout: how long a TCP entry waits for the end of its handshake. */
#define LB_SYN_RECV_TIMEOUT_NS (60 * LB_NS_PER_S)

/*
 * An entry's timeout: ipvsadm's TCP-FIN timeout after FIN or RST, IPVS's
 * SYN_RECV timeout (60 s, or the TCP timeout when shorter) until the
 * handshake is over, then the TCP timeout; UDP's for UDP.
 */
static __always_inline __u64 lb_conn_timeout(const struct lb_config *cfg, __u8 proto, __u32 flags)
{
	__u64 tcp = cfg->tcp_timeout_ns;

	if (proto != IPPROTO_TCP)
		return cfg->udp_timeout_ns;
	if (flags & LB_CONN_F_FIN)
		return cfg->tcp_fin_timeout_ns;
	if (!(flags & LB_CONN_F_ESTABLISHED) && tcp > LB_SYN_RECV_TIMEOUT_NS)
		return LB_SYN_RECV_TIMEOUT_NS;
	return tcp;
}

/* The lb_conn flags a packet sets on its flow's entry (a flag, once set, stays). */
static __always_inline __u32 lb_conn_flags_of(const struct lb_pkt *p)
{
	__u32 flags = 0;

	if (p->flow.proto != IPPROTO_TCP)
		return 0;
	if (p->tcp_flags & (LB_TCP_FLAG_FIN | LB_TCP_FLAG_RST))
		flags |= LB_CONN_F_FIN;
	if (!(p->tcp_flags & LB_TCP_FLAG_SYN))
		flags |= LB_CONN_F_ESTABLISHED;
	return flags;
}

/* Monotonic time in ns at tick resolution: plenty for second-scale timeouts. */
static __always_inline __u64 lb_now(void)
{
	if (lb_ns_per_jiffy)
		return bpf_jiffies64() * lb_ns_per_jiffy;
	return bpf_ktime_get_coarse_ns();
}

/*
 * An entry younger than its timeout. The age is signed: another CPU may have
 * stamped the entry with a tick this CPU has not read yet.
 */
static __always_inline int lb_fresh(__u64 now, __u64 last_seen, __u64 timeout)
{
	return (__s64)(now - last_seen) < (__s64)timeout;
}

/*
 * How stale a live entry's last-seen time may get before a packet rewrites it:
 * 1/16 of the timeout, at most a second. Most packets then write nothing.
 */
static __always_inline __u64 lb_refresh_lag(__u64 timeout)
{
	__u64 lag = timeout >> 4;

	return lag < LB_NS_PER_S ? lag : LB_NS_PER_S;
}

/*
 * Whether a packet without a live entry may open a flow, as IPVS decides
 * (tcp_conn_schedule): UDP always; TCP only with SYN (SYN+ACK included, for
 * active FTP), or any segment with sloppy_tcp; never with RST. What may not
 * is passed to the kernel, which owns the VIP and answers with a reset.
 */
static __always_inline int lb_may_open_flow(const struct lb_pkt *p)
{
	if (p->flow.proto != IPPROTO_TCP)
		return 1;
	if (p->tcp_flags & LB_TCP_FLAG_RST)
		return 0;
	return lb_sloppy_tcp || (p->tcp_flags & LB_TCP_FLAG_SYN);
}

/* The set a flow belongs in. */
static __always_inline struct lb_conn_set *lb_conn_set_of(const struct lb_flow_key *key, struct lb_flow_hash *h)
{
	__u32 idx;

	*h = lb_hash_flow(key, key->family == LB_FAMILY_IPV4);
	idx = h->set & lb_conn_set_mask;
	return bpf_map_lookup_elem(&lb_conns, &idx);
}

static __always_inline int lb_flow_key_eq(const struct lb_flow_key *a, const struct lb_flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/*
 * The flow's entry in its set, or NULL. *real_id and *service_id are read
 * once and verified against the entry's check, so what the caller uses is
 * what was written for this flow, even if another CPU rewrites the entry now.
 */
static __always_inline struct lb_conn_slot *lb_conn_find(struct lb_conn_set *set, const struct lb_flow_key *key,
							 __u32 check, __u32 *real_id, __u32 *service_id)
{
#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		struct lb_conn_slot *s = &set->ways[i];
		__u32 rid, sid;

		if (!lb_flow_key_eq(&s->key, key))
			continue;
		rid = s->conn.real_id;
		sid = s->conn.service_id;
		if (s->conn.check != lb_conn_check(check, rid, sid))
			continue;
		*real_id = rid;
		*service_id = sid;
		return s;
	}
	return NULL;
}

/*
 * An entry a new flow takes only when its set holds nothing else: a live TCP
 * flow past its handshake, or a live UDP flow. Half-open TCP entries (a SYN
 * flood's) and expired ones go first.
 */
static __always_inline int lb_conn_protected(const struct lb_conn_slot *s, __u64 now, const struct lb_config *cfg)
{
	__u32 flags = s->conn.flags;
	__u8 proto = s->key.proto;

	if (proto == IPPROTO_TCP && !(flags & LB_CONN_F_ESTABLISHED))
		return 0;
	return lb_fresh(now, s->conn.last_seen_ns, lb_conn_timeout(cfg, proto, flags));
}

/*
 * Where a new flow goes: an empty entry of its set, else the one seen least
 * recently among the unprotected ones, else the one seen least recently.
 */
static __always_inline struct lb_conn_slot *lb_conn_victim(struct lb_conn_set *set, __u64 now,
							   const struct lb_config *cfg)
{
	struct lb_conn_slot *victim = &set->ways[0];
	int victim_protected = 2;

#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		struct lb_conn_slot *s = &set->ways[i];
		int protected;

		if (s->key.family == 0)
			return s;
		protected = lb_conn_protected(s, now, cfg);
		if (protected < victim_protected ||
		    (protected == victim_protected && s->conn.last_seen_ns < victim->conn.last_seen_ns)) {
			victim = s;
			victim_protected = protected;
		}
	}
	return victim;
}

/* What recording a flow did to its set, for the connection-table counters. */
enum lb_conn_taken {
	LB_CONN_TOOK_STALE = 0, /* the flow's own entry, or one whose flow had expired */
	LB_CONN_TOOK_EMPTY,     /* an entry never used before */
	LB_CONN_TOOK_LIVE,      /* another flow's entry before its timeout: that flow is rescheduled */
};

/*
 * Records a flow: its own stale entry is reused, otherwise it evicts within its
 * set. The slot pointer dies here, so the verifier does not carry one state per
 * way through the rest of the program.
 */
static __always_inline enum lb_conn_taken lb_conn_insert(struct lb_conn_set *set, const struct lb_flow_key *key,
							 __u32 check, __u32 real_id, __u32 service_id, __u32 flags,
							 __u64 now, const struct lb_config *cfg)
{
	enum lb_conn_taken taken = LB_CONN_TOOK_STALE;
	struct lb_conn_slot *s = NULL;

#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		if (lb_flow_key_eq(&set->ways[i].key, key)) {
			s = &set->ways[i];
			break;
		}
	}
	if (!s) {
		s = lb_conn_victim(set, now, cfg);
		if (s->key.family == 0)
			taken = LB_CONN_TOOK_EMPTY;
		else if (lb_fresh(now, s->conn.last_seen_ns, lb_conn_timeout(cfg, s->key.proto, s->conn.flags)))
			taken = LB_CONN_TOOK_LIVE;
	}
	__builtin_memcpy(&s->key, key, sizeof(*key));
	s->conn.real_id = real_id;
	s->conn.service_id = service_id;
	s->conn.flags = flags;
	s->conn.last_seen_ns = now;
	s->conn.check = lb_conn_check(check, real_id, service_id);
	return taken;
}

#endif /* LB_CONNTRACK_H */
