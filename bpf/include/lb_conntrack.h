/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection tracking: the program's clock, ipvsadm-style timeouts, and the
 * set-associative connection table lb_conns with two candidate sets per flow
 * (find a flow's entry, pick the entry a new flow takes, record a flow). Every lookup and insert is inline
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

	if (lb_flow_proto(&p->flow) != IPPROTO_TCP)
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

/*
 * A client's SYN on an entry whose flow has seen FIN or RST: the client has
 * picked the same port again for a new connection, so it is scheduled and
 * counted afresh, its entry starting over (IPVS's conn_reuse_mode does the
 * same for connections in TIME_WAIT or CLOSE). SYN+ACK and SYN+RST do not.
 */
static __always_inline int lb_conn_reopened(const struct lb_pkt *p, __u32 flags)
{
	__u8 f = p->tcp_flags & (LB_TCP_FLAG_SYN | LB_TCP_FLAG_RST | LB_TCP_FLAG_ACK);

	return p->flow.proto == IPPROTO_TCP && (flags & LB_CONN_F_FIN) && f == LB_TCP_FLAG_SYN;
}

/*
 * A flow's place in lb_conns: the two sets it may live in (chosen by two
 * hashes of the flow) and the check word that guards its entry. Lookups and
 * inserts of every program that includes this header go through it, so they
 * agree on where a flow is.
 */
struct lb_conn_ref {
	struct lb_conn_set *set[2];
	__u32 index[2];
	__u32 check;
};

/* Fills *ref for a flow; nonzero only if lb_conns cannot be read (never once loaded). */
static __always_inline int lb_conn_ref_of(const struct lb_flow_key *key, struct lb_conn_ref *ref,
					  const struct lb_config *cfg)
{
	struct lb_flow_hash h = lb_hash_flow(key, lb_flow_family(key) == LB_FAMILY_IPV4, cfg->flow_hash_key);
	__u32 first = lb_set_of(h.set, lb_conn_set_shift);
	__u32 second = lb_set_of(h.alt, lb_conn_set_shift);

	ref->check = h.check;
	ref->index[0] = first;
	ref->index[1] = second;
	ref->set[0] = bpf_map_lookup_elem(&lb_conns, &first);
	ref->set[1] = bpf_map_lookup_elem(&lb_conns, &second);
	return !ref->set[0] || !ref->set[1];
}

static __always_inline int lb_flow_key_eq(const struct lb_flow_key *a, const struct lb_flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/*
 * The flow's entry in one set, or NULL. *real_id and *service_id are read
 * once and verified against the entry's check, so what the caller uses is
 * what was written for this flow, even if another CPU rewrites the entry now.
 */
static __always_inline struct lb_conn_slot *lb_conn_find_in(struct lb_conn_set *set, const struct lb_flow_key *key,
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

/* The flow's entry in either of its sets (the first set first), or NULL. */
static __always_inline struct lb_conn_slot *lb_conn_find(const struct lb_conn_ref *ref, const struct lb_flow_key *key,
							 __u32 *real_id, __u32 *service_id)
{
	struct lb_conn_slot *s = lb_conn_find_in(ref->set[0], key, ref->check, real_id, service_id);

	if (s)
		return s;
	return lb_conn_find_in(ref->set[1], key, ref->check, real_id, service_id);
}

/*
 * An entry a new flow takes only when its sets hold nothing else: a live TCP
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

/* An entry no live flow holds: never used, or its flow has expired. */
static __always_inline int lb_conn_free(const struct lb_conn_slot *s, __u64 now, const struct lb_config *cfg)
{
	return s->key.family == 0 ||
	       !lb_fresh(now, s->conn.last_seen_ns, lb_conn_timeout(cfg, s->key.proto, s->conn.flags));
}

/* How one set could take a new flow: its free entries, and whether a half-open flow could give way. */
struct lb_conn_room {
	__u32 free;
	__u32 half_open;
};

static __always_inline struct lb_conn_room lb_conn_room_of(const struct lb_conn_set *set, __u64 now,
							   const struct lb_config *cfg)
{
	struct lb_conn_room room = {};

#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		const struct lb_conn_slot *s = &set->ways[i];

		if (lb_conn_free(s, now, cfg))
			room.free++;
		else if (!lb_conn_protected(s, now, cfg))
			room.half_open = 1;
	}
	return room;
}

/* What recording a flow did to its sets, for the connection-table counters. */
enum lb_conn_taken {
	LB_CONN_TOOK_STALE = 0, /* the flow's own entry, or one whose flow had expired */
	LB_CONN_TOOK_EMPTY,     /* an entry never used before */
	LB_CONN_TOOK_LIVE,      /* another flow's entry before its timeout: that flow is rescheduled */
};

static __always_inline enum lb_conn_taken lb_conn_taken_of(const struct lb_conn_slot *s, __u64 now,
							   const struct lb_config *cfg)
{
	if (s->key.family == 0)
		return LB_CONN_TOOK_EMPTY;
	return lb_conn_free(s, now, cfg) ? LB_CONN_TOOK_STALE : LB_CONN_TOOK_LIVE;
}

/*
 * The entry to evict in a set with no free entry: the half-open one seen
 * least recently, else the one seen least recently. Returned as a way index
 * the verifier cannot predict, so the caller's pointer into the set is one
 * state and not one per way.
 */
static __always_inline __u32 lb_conn_victim_way(const struct lb_conn_set *set, __u64 now,
						const struct lb_config *cfg)
{
	__u64 victim_seen = ~0ULL;
	int victim_protected = 2;
	__u32 victim = 0;

#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		const struct lb_conn_slot *s = &set->ways[i];
		int protected = lb_conn_protected(s, now, cfg);

		if (protected < victim_protected ||
		    (protected == victim_protected && s->conn.last_seen_ns < victim_seen)) {
			victim = i;
			victim_seen = s->conn.last_seen_ns;
			victim_protected = protected;
		}
	}
	return (victim ^ cfg->zero) & (LB_CONN_WAYS - 1);
}

/* A free entry of a set (an empty one first) as a way index, or LB_CONN_WAYS when there is none. */
static __always_inline __u32 lb_conn_free_way(const struct lb_conn_set *set, __u64 now, const struct lb_config *cfg)
{
	__u32 way = LB_CONN_WAYS;

#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		const struct lb_conn_slot *s = &set->ways[i];

		if (s->key.family == 0)
			return i ^ cfg->zero;
		if (way == LB_CONN_WAYS && lb_conn_free(s, now, cfg))
			way = i;
	}
	return way ^ cfg->zero;
}

/*
 * Frees an entry of set `which` (0 or 1) of a flow whose two sets are full:
 * the flow that would be evicted there moves to its own other set when that
 * has a free entry (one step of cuckoo hashing), so it stays live. Returns
 * the way it vacated, or LB_CONN_WAYS when it could not move. The copy is
 * whole before the old entry is overwritten: a reader on another CPU misses
 * the flow only if it read the other set before the copy and this one after.
 */
static __always_inline __u32 lb_conn_relocate(const struct lb_conn_ref *ref, int which, __u64 now,
					      const struct lb_config *cfg, enum lb_conn_taken *taken)
{
	struct lb_conn_set *set = ref->set[which];
	struct lb_conn_slot *victim;
	struct lb_conn_set *other;
	struct lb_flow_hash h;
	__u32 way, free, idx;

	if (!set)
		return LB_CONN_WAYS;
	way = lb_conn_victim_way(set, now, cfg);
	victim = &set->ways[way];
	h = lb_hash_flow(&victim->key, victim->key.family == LB_FAMILY_IPV4, cfg->flow_hash_key);
	idx = lb_set_of(h.set, lb_conn_set_shift);
	if (idx == ref->index[which])
		idx = lb_set_of(h.alt, lb_conn_set_shift);
	if (idx == ref->index[which])
		return LB_CONN_WAYS;
	other = bpf_map_lookup_elem(&lb_conns, &idx);
	if (!other)
		return LB_CONN_WAYS;
	free = lb_conn_free_way(other, now, cfg);
	if (free >= LB_CONN_WAYS)
		return LB_CONN_WAYS;
	*taken = lb_conn_taken_of(&other->ways[free], now, cfg);
	__builtin_memcpy(&other->ways[free], victim, sizeof(*victim));
	return way;
}

/*
 * Where a new flow goes when neither of its sets holds it: a free entry of
 * the set with more of them (two choices keep the sets' loads within a few
 * entries of each other); when both are full, an entry one of them frees by
 * moving its flow (lb_conn_relocate); only then an eviction, in the set where
 * a half-open flow can give way if only one of them has one.
 */
static __always_inline struct lb_conn_slot *lb_conn_place(const struct lb_conn_ref *ref, __u64 now,
							  const struct lb_config *cfg, enum lb_conn_taken *taken)
{
	struct lb_conn_room a = lb_conn_room_of(ref->set[0], now, cfg);
	struct lb_conn_room b = lb_conn_room_of(ref->set[1], now, cfg);
	struct lb_conn_set *set;
	__u32 way;

	/*
	 * For the verifier: counts it cannot predict, so it does not verify the
	 * rest of the program once per combination of the two sets' counts.
	 */
	a.free ^= cfg->zero;
	b.free ^= cfg->zero;
	a.half_open ^= cfg->zero;
	b.half_open ^= cfg->zero;

	if (a.free || b.free) {
		set = b.free > a.free ? ref->set[1] : ref->set[0];
		way = lb_conn_free_way(set, now, cfg) & (LB_CONN_WAYS - 1);
		*taken = lb_conn_taken_of(&set->ways[way], now, cfg);
		return &set->ways[way];
	}
	way = lb_conn_relocate(ref, 0, now, cfg, taken);
	if (way < LB_CONN_WAYS)
		return &ref->set[0]->ways[way];
	way = lb_conn_relocate(ref, 1, now, cfg, taken);
	if (way < LB_CONN_WAYS)
		return &ref->set[1]->ways[way];
	set = !a.half_open && b.half_open ? ref->set[1] : ref->set[0];
	*taken = LB_CONN_TOOK_LIVE;
	return &set->ways[lb_conn_victim_way(set, now, cfg)];
}

/* The flow's own entry in a set whatever its state, or NULL. */
static __always_inline struct lb_conn_slot *lb_conn_own(struct lb_conn_set *set, const struct lb_flow_key *key)
{
#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		if (lb_flow_key_eq(&set->ways[i].key, key))
			return &set->ways[i];
	}
	return NULL;
}

/*
 * Records a flow: its own entry (in either set) is reused, otherwise it takes
 * the entry lb_conn_place chooses. The slot pointer dies here,
 * so the verifier does not carry one state per way through the rest of the
 * program. Connection sync inserts learnt flows through this too.
 */
static __always_inline enum lb_conn_taken lb_conn_insert(const struct lb_conn_ref *ref, const struct lb_flow_key *key,
							 __u32 real_id, __u32 service_id, __u32 flags, __u64 now,
							 const struct lb_config *cfg)
{
	enum lb_conn_taken taken = LB_CONN_TOOK_STALE;
	struct lb_conn_slot *s;

	s = lb_conn_own(ref->set[0], key);
	if (!s)
		s = lb_conn_own(ref->set[1], key);
	if (!s)
		s = lb_conn_place(ref, now, cfg, &taken);
	__builtin_memcpy(&s->key, key, sizeof(*key));
	s->conn.real_id = real_id;
	s->conn.service_id = service_id;
	s->conn.flags = flags;
	s->conn.last_seen_ns = now;
	s->conn.check = lb_conn_check(ref->check, real_id, service_id);
	return taken;
}

#endif /* LB_CONNTRACK_H */
