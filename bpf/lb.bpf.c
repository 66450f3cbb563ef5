// SPDX-License-Identifier: GPL-2.0-only
/*
 * lbctl XDP data plane: LVS-style DR, NAT and TUN forwarding with rr/wrr/sh/dh/mh
 * scheduling, connection tracking, persistence and per-CPU counters.
 * The ABI (structs, constants, map names) lives in include/lb_abi.h.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lb_abi.h"
#include "lb_csum.h"
#include "lb_hash.h"
#include "lb_parse.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define LB_NS_PER_S 1000000000ULL
#define LB_TUN_TTL 64
/* Bytes of the offending packet quoted in ICMP errors we originate. */
#define LB_ICMP_QUOTE_MAX 128
#define LB_ICMP_TTL 64
#define LB_IPV6_MIN_MTU 1280
#define LB_IPTOS_PREC_INTERNETCONTROL 0xc0

/* Verdict for packets whose headers fail validation (XDP_PASS lets the kernel count and drop). */
const volatile __u32 lb_malformed_verdict = XDP_PASS;
/* Verdict for IP fragments (they carry no ports, so they cannot be scheduled). */
const volatile __u32 lb_fragment_verdict = XDP_PASS;
/* lb_conns holds a power of two of sets; a flow's set is its hash & this mask. */
const volatile __u32 lb_conn_set_mask = 65535;
/* lb_services holds a power of two of sets; a service key's sets are its two hashes & this mask. */
const volatile __u32 lb_svc_set_mask = 63;
/*
 * Nanoseconds per jiffy (10^9 / CONFIG_HZ). The clock is jiffies because the
 * verifier inlines bpf_jiffies64() while every real helper call costs a call
 * and a return; 0 (HZ unknown) falls back to bpf_ktime_get_coarse_ns().
 */
const volatile __u64 lb_ns_per_jiffy = 0;

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
	__uint(max_entries, LB_STAT_MAX);
	__type(key, __u32);
	__type(value, struct lb_counters);
} lb_stats SEC(".maps");

/* Per-CPU counters per service id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct lb_counters);
} lb_service_stats SEC(".maps");

/* Per-CPU counters per real id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct lb_counters);
} lb_real_stats SEC(".maps");

/* What the parser learned about a packet. */
struct lb_pkt {
	struct lb_flow_key flow;
	struct ethhdr *eth;
	void *l3;
	void *l4;
	__u32 ip_len;    /* IP header + payload, as the IP header says */
	__u16 eth_proto; /* network order */
	__u8 l2_len;
	__u8 tcp_flags;
	__u8 frag;
	__u8 tos;
	__u8 df;         /* IPv4 don't-fragment (IPv6 never fragments in transit) */
	__u8 answered;   /* the verdict is our own ICMP reply, not a forwarded packet */
	__u16 l3_off;    /* header offsets from the frame start (set with the pointers above) */
	__u16 l4_off;
};

enum lb_parse_result {
	LB_P_L4 = 0,   /* TCP or UDP with ports */
	LB_P_ICMP,     /* ICMP or ICMPv6 */
	LB_P_OTHER,    /* IP with another protocol */
	LB_P_NOT_IP,
	LB_P_FRAGMENT,
	LB_P_MALFORMED,
};

#define LB_TCP_FLAG_FIN 0x01
#define LB_TCP_FLAG_RST 0x04

static __always_inline void lb_count(void *map, __u32 idx, __u64 bytes, int new_conn)
{
	struct lb_counters *c = bpf_map_lookup_elem(map, &idx);

	if (!c)
		return;
	c->packets++;
	c->bytes += bytes;
	if (new_conn)
		c->new_conns++;
}

static __always_inline int lb_stat(struct xdp_md *ctx, __u32 reason, int verdict)
{
	lb_count(&lb_stats, reason, ctx->data_end - ctx->data, 0);
	return verdict;
}

static __always_inline int lb_parse_l4(struct hdr_cursor *nh, void *data_end, struct lb_pkt *p, int proto)
{
	struct tcphdr *tcph;
	struct udphdr *udph;

	p->l4 = nh->pos;
	switch (proto) {
	case IPPROTO_TCP:
		if (parse_tcphdr(nh, data_end, &tcph) < 0)
			return LB_P_MALFORMED;
		p->flow.sport = tcph->source;
		p->flow.dport = tcph->dest;
		p->tcp_flags = ((__u8 *)tcph)[13];
		return LB_P_L4;
	case IPPROTO_UDP:
		if (parse_udphdr(nh, data_end, &udph) < 0)
			return LB_P_MALFORMED;
		p->flow.sport = udph->source;
		p->flow.dport = udph->dest;
		return LB_P_L4;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return LB_P_ICMP;
	default:
		return LB_P_OTHER;
	}
}

static __always_inline int lb_parse(void *data, void *data_end, struct lb_pkt *p)
{
	struct hdr_cursor nh = { .pos = data };
	struct iphdr *iph;
	struct ipv6hdr *ip6h;
	int proto, frag = 0;

	proto = parse_ethhdr(&nh, data_end, &p->eth);
	if (proto == LB_PARSE_TRUNCATED)
		return LB_P_NOT_IP;
	if (proto < 0)
		return LB_P_MALFORMED;
	p->eth_proto = proto;
	p->l2_len = nh.pos - data;
	p->l3 = nh.pos;

	if (proto == bpf_htons(ETH_P_IP)) {
		proto = parse_iphdr(&nh, data_end, &iph);
		if (proto < 0)
			return LB_P_MALFORMED;
		__builtin_memcpy(p->flow.src, &iph->saddr, 4);
		__builtin_memcpy(p->flow.dst, &iph->daddr, 4);
		p->flow.family = LB_FAMILY_IPV4;
		p->ip_len = bpf_ntohs(iph->tot_len);
		p->tos = iph->tos;
		p->df = !!(iph->frag_off & bpf_htons(LB_IP_DF));
		if (iph->frag_off & bpf_htons(LB_IP_MF | LB_IP_OFFSET))
			return LB_P_FRAGMENT;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		proto = parse_ip6hdr(&nh, data_end, &ip6h, &frag);
		if (proto < 0)
			return LB_P_MALFORMED;
		__builtin_memcpy(p->flow.src, &ip6h->saddr, 16);
		__builtin_memcpy(p->flow.dst, &ip6h->daddr, 16);
		p->flow.family = LB_FAMILY_IPV6;
		p->ip_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
		p->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
		if (frag)
			return LB_P_FRAGMENT;
	} else {
		return LB_P_NOT_IP;
	}
	p->flow.proto = proto;
	return lb_parse_l4(&nh, data_end, p, proto);
}

/* Upper bounds on header offsets, so offsets held as plain numbers stay provably in range. */
#define LB_MAX_L3_OFF 64
#define LB_MAX_L4_OFF 512

/*
 * Makes the verifier forget which parse path produced p's header pointers.
 * Each combination of VLAN tag, IPv6 extension headers and protocol leaves
 * pointers with different known offsets, and the verifier walked everything
 * after parsing once per combination (400,000-700,000 instructions of the
 * 1,000,000 limit, and 6-11 s per load; now about 100,000 and 0.1 s). XORing the offsets with
 * cfg->zero, always 0 but unknown to the verifier, turns them into bounded
 * unknowns: one walk covers every path, at the cost of two XORs per packet.
 */
static __always_inline int lb_forget_parse_path(struct xdp_md *ctx, struct lb_pkt *p, const struct lb_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	__u64 l3 = (__u64)(p->l3 - data) ^ cfg->zero;
	__u64 l4 = (__u64)(p->l4 - data) ^ cfg->zero;

	/* Bound the very registers that are added to data below. */
	asm volatile("" : "+r"(l3), "+r"(l4));
	if (l3 > LB_MAX_L3_OFF || l4 > LB_MAX_L4_OFF)
		return -1;
	p->l3 = data + l3;
	p->l4 = data + l4;
	p->l3_off = l3;
	p->l4_off = l4;
	return 0;
}

static __always_inline struct lb_config *lb_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lb_config, &zero);
}

static __always_inline __u64 lb_conn_timeout(const struct lb_config *cfg, __u8 proto, __u32 flags)
{
	if (proto == IPPROTO_TCP)
		return (flags & LB_CONN_F_FIN) ? cfg->tcp_fin_timeout_ns : cfg->tcp_timeout_ns;
	return cfg->udp_timeout_ns;
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

/* Where a new flow goes: an empty entry of its set, else the one seen least recently. */
static __always_inline struct lb_conn_slot *lb_conn_victim(struct lb_conn_set *set)
{
	struct lb_conn_slot *victim = &set->ways[0];

#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		struct lb_conn_slot *s = &set->ways[i];

		if (s->key.family == 0)
			return s;
		if (s->conn.last_seen_ns < victim->conn.last_seen_ns)
			victim = s;
	}
	return victim;
}

/*
 * Records a flow: its own stale entry is reused, otherwise it evicts within its
 * set. The slot pointer dies here, so the verifier does not carry one state per
 * way through the rest of the program.
 */
static __always_inline void lb_conn_insert(struct lb_conn_set *set, const struct lb_flow_key *key, __u32 check,
					   __u32 real_id, __u32 service_id, __u32 flags, __u64 now)
{
	struct lb_conn_slot *s = NULL;

#pragma unroll
	for (int i = 0; i < LB_CONN_WAYS; i++) {
		if (lb_flow_key_eq(&set->ways[i].key, key)) {
			s = &set->ways[i];
			break;
		}
	}
	if (!s)
		s = lb_conn_victim(set);
	__builtin_memcpy(&s->key, key, sizeof(*key));
	s->conn.real_id = real_id;
	s->conn.service_id = service_id;
	s->conn.flags = flags;
	s->conn.last_seen_ns = now;
	s->conn.check = lb_conn_check(check, real_id, service_id);
}

/* A real that may carry traffic for this service (present and not removed). */
static __always_inline struct lb_real *lb_live_real(__u32 real_id, __u32 service_id)
{
	struct lb_real *r;

	if (real_id == LB_REAL_NONE)
		return NULL;
	r = bpf_map_lookup_elem(&lb_reals, &real_id);
	if (!r || !(r->flags & LB_REAL_F_ACTIVE) || r->service_id != service_id)
		return NULL;
	return r;
}

static __always_inline __u32 lb_schedule(const struct lb_ring *ring, __u32 service_id, const struct lb_pkt *p)
{
	__u32 ring_len = ring->params.ring_len;
	__u32 port = (ring->params.flags & LB_SVC_F_HASH_PORT) ? p->flow.sport : 0;
	__u32 *pos;
	__u32 idx;

	if (ring_len == 0)
		return LB_REAL_NONE;
	switch (ring->params.sched) {
	case LB_SCHED_RR:
	case LB_SCHED_WRR:
		pos = bpf_map_lookup_elem(&lb_rr_pos, &service_id);
		if (!pos)
			return LB_REAL_NONE;
		__sync_fetch_and_add(pos, 1);
		idx = *pos % ring_len;
		break;
	case LB_SCHED_DH:
		idx = lb_hash_addr(p->flow.dst, 0) % LB_RING_SIZE;
		break;
	default: /* sh and mh: the source address (and port when asked) */
		idx = lb_hash_addr(p->flow.src, port) % LB_RING_SIZE;
		break;
	}
	asm volatile("" : "+r"(idx)); /* keep the bound check below for the verifier */
	if (idx >= LB_RING_SIZE)
		return LB_REAL_NONE;
	return ring->reals[idx];
}

static __always_inline void lb_mask_addr(__u8 *addr, __u32 prefix)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		int bits = (int)prefix - i * 8;

		if (bits <= 0)
			addr[i] = 0;
		else if (bits < 8)
			addr[i] &= (__u8)(0xff << (8 - bits));
	}
}

/* Persistence: the client's template real if fresh and not draining, else a new choice. */
static __always_inline __u32 lb_persistent_real(const struct lb_ring *ring, __u32 service_id, const struct lb_pkt *p,
						__u64 now)
{
	struct lb_persist_key pk = {};
	struct lb_persist *tmpl, fresh = {};
	struct lb_real *r;
	__u32 real_id;

	__builtin_memcpy(pk.src, p->flow.src, 16);
	lb_mask_addr(pk.src, ring->params.persist_prefix);
	pk.service_id = service_id;
	tmpl = bpf_map_lookup_elem(&lb_persist, &pk);
	if (tmpl && lb_fresh(now, tmpl->last_seen_ns, (__u64)ring->params.persist_timeout_s * LB_NS_PER_S)) {
		r = lb_live_real(tmpl->real_id, service_id);
		if (r && r->weight > 0) {
			tmpl->last_seen_ns = now;
			return tmpl->real_id;
		}
	}
	real_id = lb_schedule(ring, service_id, p);
	if (real_id == LB_REAL_NONE)
		return real_id;
	fresh.real_id = real_id;
	fresh.last_seen_ns = now;
	bpf_map_update_elem(&lb_persist, &pk, &fresh, BPF_ANY);
	return real_id;
}

static __always_inline int lb_l2_out(struct xdp_md *ctx, struct ethhdr *eth, const struct lb_real *r)
{
	__builtin_memcpy(eth->h_dest, r->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, r->src_mac, ETH_ALEN);
	if (r->ifindex == 0 || r->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect_map(&lb_tx_ports, r->ifindex, 0);
}

/* Rewrites one address (and port) of the packet with incremental checksum updates. */
static __always_inline int lb_nat_rewrite(struct lb_pkt *p, void *data_end, const __u8 *addr, __be16 port,
					  int rewrite_dst)
{
	__u16 old_port, new_port = port;
	__u16 *l4_check = NULL;
	__be16 *l4_port;
	int udp_zero = 0;

	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcph = p->l4;

		if ((void *)(tcph + 1) > data_end)
			return -1;
		l4_check = &tcph->check;
		l4_port = rewrite_dst ? &tcph->dest : &tcph->source;
	} else {
		struct udphdr *udph = p->l4;

		if ((void *)(udph + 1) > data_end)
			return -1;
		l4_check = &udph->check;
		l4_port = rewrite_dst ? &udph->dest : &udph->source;
		/* IPv4 UDP without checksum stays without one. */
		udp_zero = p->flow.family == LB_FAMILY_IPV4 && udph->check == 0;
	}
	old_port = *l4_port;

	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;
		__u16 old[2], new[2];
		__be32 *field;

		if ((void *)(iph + 1) > data_end)
			return -1;
		field = rewrite_dst ? &iph->daddr : &iph->saddr;
		__builtin_memcpy(old, field, 4);
		__builtin_memcpy(new, addr, 4);
		iph->check = lb_csum_replace(iph->check, old, new, 2);
		if (!udp_zero) {
			__u16 c = lb_csum_replace(*l4_check, old, new, 2);

			c = lb_csum_replace(c, &old_port, &new_port, 1);
			if (c == 0 && p->flow.proto == IPPROTO_UDP)
				c = 0xffff;
			*l4_check = c;
		}
		__builtin_memcpy(field, addr, 4);
	} else {
		struct ipv6hdr *ip6h = p->l3;
		__u16 old[8], new[8], c;
		struct in6_addr *field;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		field = rewrite_dst ? &ip6h->daddr : &ip6h->saddr;
		__builtin_memcpy(old, field, 16);
		__builtin_memcpy(new, addr, 16);
		c = lb_csum_replace(*l4_check, old, new, 8);
		c = lb_csum_replace(c, &old_port, &new_port, 1);
		if (c == 0 && p->flow.proto == IPPROTO_UDP)
			c = 0xffff;
		*l4_check = c;
		__builtin_memcpy(field, addr, 16);
	}
	*l4_port = port;
	return 0;
}

/*
 * Opens `len` bytes between the link-layer header (with its VLAN tag, if any)
 * and the IP header. Returns the link-layer header length, or 0 on failure.
 */
static __always_inline __u32 lb_push_after_l2(struct xdp_md *ctx, __u32 len, __u32 l2_len)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)len))
		return 0;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2_len > sizeof(struct ethhdr)) {
		if (data + len + sizeof(struct ethhdr) + sizeof(struct vlan_hdr) > data_end)
			return 0;
		__builtin_memmove(data, data + len, sizeof(struct ethhdr) + sizeof(struct vlan_hdr));
		return sizeof(struct ethhdr) + sizeof(struct vlan_hdr);
	}
	if (data + len + sizeof(struct ethhdr) > data_end)
		return 0;
	__builtin_memmove(data, data + len, sizeof(struct ethhdr));
	return sizeof(struct ethhdr);
}

/*
 * Answers a packet that would not fit the tunnel as a router would: ICMP
 * "fragmentation needed" (IPv4 with DF) or ICMPv6 "packet too big", from the
 * VIP back to the client, quoting the start of the packet. IPv4 without DF is
 * dropped (a router would fragment; the director does not).
 */
static __always_inline int lb_send_too_big(struct xdp_md *ctx, struct lb_pkt *p, __u32 mtu)
{
	__u32 hdr_len = p->flow.family == LB_FAMILY_IPV4 ? sizeof(struct iphdr) + sizeof(struct lb_icmphdr)
							 : sizeof(struct ipv6hdr) + sizeof(struct lb_icmphdr);
	__u32 quote = p->ip_len < LB_ICMP_QUOTE_MAX ? p->ip_len & ~1U : LB_ICMP_QUOTE_MAX;
	__u32 l2_len = p->l2_len, frame_len, total;
	__u8 client_mac[ETH_ALEN], our_mac[ETH_ALEN];
	/* p->flow lives on the stack, so it survives the head adjustment: client = src, VIP = dst. */
	const __u8 *client = p->flow.src, *vip = p->flow.dst;
	void *data, *data_end;
	struct lb_icmphdr *icmph;
	__u16 *words;
	__u64 sum = 0;
	__be16 *ethertype;

	lb_count(&lb_stats, LB_STAT_TOO_BIG, ctx->data_end - ctx->data, 0);
	p->answered = 1;
	if (p->flow.family == LB_FAMILY_IPV4 && !p->df)
		return XDP_DROP;
	if ((void *)(p->eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	__builtin_memcpy(client_mac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(our_mac, p->eth->h_dest, ETH_ALEN);

	l2_len = lb_push_after_l2(ctx, hdr_len, l2_len);
	if (l2_len == 0)
		return XDP_DROP;
	total = l2_len + hdr_len + quote;
	frame_len = ctx->data_end - ctx->data;
	if (frame_len < total || bpf_xdp_adjust_tail(ctx, -(int)(frame_len - total)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + l2_len > data_end || l2_len < sizeof(struct ethhdr))
		return XDP_DROP;
	__builtin_memcpy(((struct ethhdr *)data)->h_dest, client_mac, ETH_ALEN);
	__builtin_memcpy(((struct ethhdr *)data)->h_source, our_mac, ETH_ALEN);
	ethertype = data + l2_len - 2;

	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *ip = data + l2_len;
		__u16 hw[10];

		icmph = (void *)(ip + 1);
		if ((void *)(icmph + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = LB_IPTOS_PREC_INTERNETCONTROL;
		ip->tot_len = bpf_htons(hdr_len + quote);
		ip->id = 0;
		ip->frag_off = 0;
		ip->ttl = LB_ICMP_TTL;
		ip->protocol = IPPROTO_ICMP;
		ip->check = 0;
		__builtin_memcpy(&ip->saddr, vip, 4);
		__builtin_memcpy(&ip->daddr, client, 4);
		__builtin_memcpy(hw, ip, sizeof(hw));
		ip->check = lb_ipv4_header_csum(hw);
		icmph->type = LB_ICMP_DEST_UNREACH;
		icmph->code = LB_ICMP_FRAG_NEEDED;
		icmph->rest = bpf_htonl(mtu & 0xffff);
	} else {
		struct ipv6hdr *ip6 = data + l2_len;
		const __u16 *src_words = (const __u16 *)vip, *dst_words = (const __u16 *)client;

		icmph = (void *)(ip6 + 1);
		if ((void *)(icmph + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->priority = 0;
		ip6->flow_lbl[0] = 0;
		ip6->flow_lbl[1] = 0;
		ip6->flow_lbl[2] = 0;
		ip6->payload_len = bpf_htons(sizeof(*icmph) + quote);
		ip6->nexthdr = IPPROTO_ICMPV6;
		ip6->hop_limit = LB_ICMP_TTL;
		__builtin_memcpy(&ip6->saddr, vip, 16);
		__builtin_memcpy(&ip6->daddr, client, 16);
		icmph->type = LB_ICMPV6_PKT_TOOBIG;
		icmph->code = 0;
		icmph->rest = bpf_htonl(mtu < LB_IPV6_MIN_MTU ? LB_IPV6_MIN_MTU : mtu);
		/* Pseudo-header: addresses, upper-layer length, next header. */
#pragma unroll
		for (int i = 0; i < 8; i++)
			sum += src_words[i] + dst_words[i];
		sum += bpf_htons(sizeof(*icmph) + quote);
		sum += bpf_htons(IPPROTO_ICMPV6);
	}
	icmph->checksum = 0;
	/* ICMP checksum over its header and the quote (bounded word loop). */
	words = (void *)icmph;
	for (int i = 0; i < (int)(sizeof(*icmph) + LB_ICMP_QUOTE_MAX) / 2; i++) {
		if ((void *)(words + i + 1) > data_end)
			break;
		sum += words[i];
	}
	icmph->checksum = ~lb_csum_fold(sum);
	return XDP_TX;
}

/* Builds the outer IPv4/IPv6 header in front of the packet (IPIP, IP6IP6, IPv4-in-IPv6, IPv6-in-IPv4). */
static __always_inline int lb_tun_forward(struct xdp_md *ctx, struct lb_pkt *p, const struct lb_real *r,
					  const struct lb_config *cfg)
{
	__u32 outer_len = r->family == LB_FAMILY_IPV4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u8 inner_proto = p->flow.family == LB_FAMILY_IPV4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	__u32 inner_len = p->ip_len;
	__u32 l2_len = p->l2_len;
	__u8 tos = p->tos;
	__u32 frame_len = ctx->data_end - ctx->data;
	void *data, *data_end;
	__be16 *ethertype;

	if (cfg->tun_mtu && inner_len + outer_len > cfg->tun_mtu)
		return lb_send_too_big(ctx, p, cfg->tun_mtu - outer_len);
	/* Ethernet padding after the IP packet must not end up inside the tunnel. */
	if (frame_len > l2_len + inner_len && bpf_xdp_adjust_tail(ctx, -(int)(frame_len - l2_len - inner_len)))
		return lb_stat(ctx, LB_STAT_ADJUST_FAILED, XDP_DROP);
	l2_len = lb_push_after_l2(ctx, outer_len, l2_len);
	if (l2_len == 0)
		return lb_stat(ctx, LB_STAT_ADJUST_FAILED, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + l2_len > data_end)
		return XDP_DROP;
	ethertype = data + l2_len - 2;

	if (r->family == LB_FAMILY_IPV4) {
		struct iphdr *oh = data + l2_len;
		__u16 words[10];

		if ((void *)(oh + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IP);
		oh->version = 4;
		oh->ihl = 5;
		oh->tos = tos;
		oh->tot_len = bpf_htons(inner_len + outer_len);
		oh->id = 0;
		oh->frag_off = bpf_htons(LB_IP_DF);
		oh->ttl = LB_TUN_TTL;
		oh->protocol = inner_proto;
		oh->check = 0;
		__builtin_memcpy(&oh->saddr, cfg->tun_src4, 4);
		__builtin_memcpy(&oh->daddr, r->addr, 4);
		__builtin_memcpy(words, oh, sizeof(words));
		oh->check = lb_ipv4_header_csum(words);
	} else {
		struct ipv6hdr *oh = data + l2_len;

		if ((void *)(oh + 1) > data_end)
			return XDP_DROP;
		*ethertype = bpf_htons(ETH_P_IPV6);
		oh->version = 6;
		oh->priority = tos >> 4;
		oh->flow_lbl[0] = (tos & 0xf) << 4;
		oh->flow_lbl[1] = 0;
		oh->flow_lbl[2] = 0;
		oh->payload_len = bpf_htons(inner_len);
		oh->nexthdr = inner_proto;
		oh->hop_limit = LB_TUN_TTL;
		__builtin_memcpy(&oh->saddr, cfg->tun_src6, 16);
		__builtin_memcpy(&oh->daddr, r->addr, 16);
	}
	return lb_l2_out(ctx, data, r);
}

/* Sends the packet to real r according to the real's forwarding method (NAT: unless `translated` already). */
static __always_inline int lb_forward(struct xdp_md *ctx, struct lb_pkt *p, const struct lb_real *r,
				      const struct lb_config *cfg, int translated)
{
	void *data_end = (void *)(long)ctx->data_end;

	switch (r->fwd) {
	case LB_FWD_NAT:
		if (translated)
			return lb_l2_out(ctx, p->eth, r);
		if (r->family != p->flow.family || lb_nat_rewrite(p, data_end, r->addr, r->port, 1))
			return lb_stat(ctx, LB_STAT_MALFORMED, XDP_DROP);
		return lb_l2_out(ctx, p->eth, r);
	case LB_FWD_TUN:
		return lb_tun_forward(ctx, p, r, cfg);
	default:
		return lb_l2_out(ctx, p->eth, r);
	}
}

/*
 * Sends a translated packet on to its destination as a router would: a FIB
 * lookup (addresses and ports as they are now, for multipath hashing) picks
 * the next hop, the hop count drops by one, and the frame leaves via XDP_TX
 * or a redirect. What the FIB cannot resolve here goes to the kernel, which
 * forwards it.
 */
static __always_inline int lb_route_out(struct xdp_md *ctx, struct lb_pkt *p)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = p->flow.proto;
	fib.tot_len = p->ip_len;
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;

		if ((void *)(iph + 1) > data_end)
			return XDP_DROP;
		fib.family = AF_INET;
		fib.tos = p->tos;
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
	} else {
		struct ipv6hdr *ip6h = p->l3;

		if ((void *)(ip6h + 1) > data_end)
			return XDP_DROP;
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, 16);
	}
	if (p->flow.proto == IPPROTO_TCP || p->flow.proto == IPPROTO_UDP) {
		__be16 *ports = p->l4;

		if ((void *)(ports + 2) > data_end)
			return XDP_DROP;
		fib.sport = ports[0];
		fib.dport = ports[1];
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS; /* the kernel forwards the translated packet (or resolves the neighbour) */

	/* Routed: the hop count drops as in any router; at the limit the kernel answers. */
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;
		__u16 old, new;

		if ((void *)(iph + 1) > data_end || iph->ttl <= 1)
			return XDP_PASS;
		__builtin_memcpy(&old, &iph->ttl, 2);
		iph->ttl--;
		__builtin_memcpy(&new, &iph->ttl, 2);
		iph->check = lb_csum_replace(iph->check, &old, &new, 1);
	} else {
		struct ipv6hdr *ip6h = p->l3;

		if ((void *)(ip6h + 1) > data_end || ip6h->hop_limit <= 1)
			return XDP_PASS;
		ip6h->hop_limit--;
	}
	if ((void *)(p->eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(p->eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, fib.smac, ETH_ALEN);
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect_map(&lb_tx_ports, fib.ifindex, XDP_PASS);
}

/*
 * NAT replies: a real's answer leaves with the VIP:port the client talked to.
 * Returns 0 when translated (the caller routes it on), -1 when not a reply,
 * or a verdict.
 */
static __always_inline int lb_nat_reply(struct xdp_md *ctx, struct lb_pkt *p, __u64 now)
{
	struct lb_nat_origin *o = bpf_map_lookup_elem(&lb_nat, &p->flow);
	void *data_end = (void *)(long)ctx->data_end;
	__u32 real_id;

	if (!o)
		return -1;
	o->last_seen_ns = now;
	real_id = o->real_id;
	if (lb_nat_rewrite(p, data_end, o->vip, o->vport, 0))
		return lb_stat(ctx, LB_STAT_MALFORMED, XDP_DROP);
	lb_count(&lb_real_stats, real_id, p->ip_len, 0);
	lb_count(&lb_stats, LB_STAT_NAT_REPLY, ctx->data_end - ctx->data, 0);
	return 0;
}

/* The packet quoted by an ICMP "fragmentation needed" / ICMPv6 "packet too big" error. */
struct lb_icmp_quote {
	struct lb_flow_key flow; /* the quoted packet's flow reversed (what it answers) */
	struct lb_icmphdr *icmp;
	void *ip;                /* the quoted IP header */
	__be16 *ports;           /* the quoted TCP/UDP header: source port, destination port */
	__u32 ports_off;         /* offset of `ports` from the frame start */
	__u32 ip_end;            /* offset of the end of the outer IP packet from the frame start */
};

/*
 * Finds the quoted packet of a too-big error: an IPv4 header with options, or
 * an IPv6 header directly followed by TCP/UDP, and at least both ports.
 * q->flow is that packet's flow reversed, the key of the flow it belongs to.
 */
static __always_inline int lb_icmp_parse_quote(struct lb_pkt *p, void *data_end, struct lb_icmp_quote *q)
{
	struct lb_icmphdr *icmph = p->l4;
	__u32 ip_hlen;

	if ((void *)(icmph + 1) > data_end)
		return -1;
	q->icmp = icmph;
	q->ip = icmph + 1;
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = q->ip;

		if (icmph->type != LB_ICMP_DEST_UNREACH || icmph->code != LB_ICMP_FRAG_NEEDED)
			return -1;
		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return -1;
		ip_hlen = iph->ihl * 4;
		__builtin_memcpy(q->flow.dst, &iph->saddr, 4);
		__builtin_memcpy(q->flow.src, &iph->daddr, 4);
		q->flow.proto = iph->protocol;
	} else {
		struct ipv6hdr *ip6h = q->ip;

		if (icmph->type != LB_ICMPV6_PKT_TOOBIG)
			return -1;
		if ((void *)(ip6h + 1) > data_end)
			return -1;
		ip_hlen = sizeof(*ip6h);
		__builtin_memcpy(q->flow.dst, &ip6h->saddr, 16);
		__builtin_memcpy(q->flow.src, &ip6h->daddr, 16);
		q->flow.proto = ip6h->nexthdr;
	}
	if (q->flow.proto != IPPROTO_TCP && q->flow.proto != IPPROTO_UDP)
		return -1;
	q->ports = q->ip + ip_hlen;
	if ((void *)(q->ports + 2) > data_end)
		return -1;
	q->flow.dport = q->ports[0];
	q->flow.sport = q->ports[1];
	q->flow.family = p->flow.family;
	q->ports_off = p->l4_off + sizeof(struct lb_icmphdr) + ip_hlen;
	q->ip_end = p->l3_off + p->ip_len;
	return 0;
}

/* Bytes from the quoted TCP/UDP header to its checksum field. */
#define LB_TCP_CSUM_OFF 16
#define LB_UDP_CSUM_OFF 6

/*
 * NAT for the packet inside an ICMP error: one quoted address (the source when
 * `quoted_src`, else the destination) and its port become addr:port. The
 * quoted IPv4 header checksum, the quoted TCP/UDP checksum when the quote
 * reaches it (an IPv4 UDP checksum of 0 stays 0), and the ICMP checksum
 * follow incrementally. The ICMPv6 checksum also covers the outer addresses;
 * a caller that changes one passes it as outer_old/outer_new (else NULL).
 */
static __always_inline int lb_icmp_nat_quote(struct lb_pkt *p, void *data_end, struct lb_icmp_quote *q,
					     const __u8 *addr, __be16 port, int quoted_src, const __u8 *outer_old,
					     const __u8 *outer_new)
{
	__u32 csum_off = q->flow.proto == IPPROTO_TCP ? LB_TCP_CSUM_OFF : LB_UDP_CSUM_OFF;
	__u16 old_port, new_port = port;
	__u16 old_l4c = 0, new_l4c = 0;
	__u16 *l4_check = NULL;
	__be16 *port_field;
	__u16 old[8], new[8];
	__u16 icmp_c;

	if ((void *)(q->icmp + 1) > data_end || (void *)(q->ports + 2) > data_end)
		return -1;
	port_field = quoted_src ? &q->ports[0] : &q->ports[1];
	old_port = *port_field;
	/* The quoted transport checksum, when the router quoted that far. */
	if (q->ports_off + csum_off + 2 <= q->ip_end) {
		__u16 *c = (void *)q->ports + csum_off;

		if ((void *)(c + 1) <= data_end &&
		    !(q->flow.proto == IPPROTO_UDP && q->flow.family == LB_FAMILY_IPV4 && *c == 0))
			l4_check = c;
	}
	icmp_c = q->icmp->checksum;

	if (q->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = q->ip;
		__be32 *field;
		__u16 old_ipc, new_ipc;

		if ((void *)(iph + 1) > data_end)
			return -1;
		field = quoted_src ? &iph->saddr : &iph->daddr;
		__builtin_memcpy(old, field, 4);
		__builtin_memcpy(new, addr, 4);
		old_ipc = iph->check;
		new_ipc = lb_csum_replace(old_ipc, old, new, 2);
		if (l4_check) {
			old_l4c = *l4_check;
			new_l4c = lb_csum_replace(lb_csum_replace(old_l4c, old, new, 2), &old_port, &new_port, 1);
			if (new_l4c == 0 && q->flow.proto == IPPROTO_UDP)
				new_l4c = 0xffff;
		}
		/* Every changed word of the ICMP payload moves the ICMP checksum. */
		icmp_c = lb_csum_replace(icmp_c, old, new, 2);
		icmp_c = lb_csum_replace(icmp_c, &old_ipc, &new_ipc, 1);
		iph->check = new_ipc;
		__builtin_memcpy(field, addr, 4);
	} else {
		struct ipv6hdr *ip6h = q->ip;
		struct in6_addr *field;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		field = quoted_src ? &ip6h->saddr : &ip6h->daddr;
		__builtin_memcpy(old, field, 16);
		__builtin_memcpy(new, addr, 16);
		if (l4_check) {
			old_l4c = *l4_check;
			new_l4c = lb_csum_replace(lb_csum_replace(old_l4c, old, new, 8), &old_port, &new_port, 1);
			if (new_l4c == 0 && q->flow.proto == IPPROTO_UDP)
				new_l4c = 0xffff;
		}
		icmp_c = lb_csum_replace(icmp_c, old, new, 8);
		if (outer_old && outer_new)
			icmp_c = lb_csum_replace(icmp_c, (const __u16 *)outer_old, (const __u16 *)outer_new, 8);
		__builtin_memcpy(field, addr, 16);
	}
	icmp_c = lb_csum_replace(icmp_c, &old_port, &new_port, 1);
	if (l4_check) {
		icmp_c = lb_csum_replace(icmp_c, &old_l4c, &new_l4c, 1);
		*l4_check = new_l4c;
	}
	*port_field = port;
	q->icmp->checksum = icmp_c;
	return 0;
}

/* Replaces the outer destination address (IPv4 header checksum updated; ICMPv6 is the caller's part). */
static __always_inline int lb_set_outer_dst(struct lb_pkt *p, void *data_end, const __u8 *addr)
{
	if (p->flow.family == LB_FAMILY_IPV4) {
		struct iphdr *iph = p->l3;
		__u16 old[2], new[2];

		if ((void *)(iph + 1) > data_end)
			return -1;
		__builtin_memcpy(old, &iph->daddr, 4);
		__builtin_memcpy(new, addr, 4);
		iph->check = lb_csum_replace(iph->check, old, new, 2);
		__builtin_memcpy(&iph->daddr, addr, 4);
	} else {
		struct ipv6hdr *ip6h = p->l3;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		__builtin_memcpy(&ip6h->daddr, addr, 16);
	}
	return 0;
}

/* What lb_icmp_steer decided. */
enum lb_icmp_action {
	LB_ICMP_PASS = 0,      /* not about a flow we forward: the kernel handles it */
	LB_ICMP_TO_REAL,       /* to the flow's real (translated already if NAT) */
	LB_ICMP_TO_CLIENT,     /* translated; route it on to its destination, the client */
	LB_ICMP_DROP,          /* could not be translated */
};

/*
 * ICMP "fragmentation needed" / ICMPv6 "packet too big" about a flow we forward.
 *
 * An error goes to the source of the packet it quotes. Addressed to a VIP, it
 * quotes a packet the client was sent from the VIP (VIP:vport -> client), so
 * the reversed quote is the client's flow and finds its connection entry:
 * - DR and TUN reals hold the VIP: the error goes to the real unchanged
 *   (MAC rewrite, or encapsulated).
 * - NAT reals sent that packet as real:rport -> client before we translated
 *   it: the outer destination becomes the real, the quoted source
 *   VIP:vport becomes real:rport, and the error goes to the real.
 * Addressed to a client (NAT only), it may quote a request we translated
 * (client -> real:rport), sent back by a router between us and the real: the
 * reversed quote is the real's reply flow, lb_nat gives the VIP:vport the
 * client used, the quoted destination becomes VIP:vport, and the error is
 * routed on to the client like a NAT reply.
 *
 * The forwarding itself is the caller's, shared with the other paths: inlined
 * twice, it would not fit the 512-byte stack.
 */
static __always_inline enum lb_icmp_action lb_icmp_steer(struct xdp_md *ctx, struct lb_pkt *p,
							 const struct lb_config *cfg, struct lb_real **real)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_icmp_quote q = {};
	struct lb_conn_set *set;
	struct lb_flow_hash h;
	__u32 real_id, service_id;
	struct lb_real *r;

	/* q.flow is the reversed quote: the flow whose packet the quoted one answers. */
	if (lb_icmp_parse_quote(p, data_end, &q))
		return LB_ICMP_PASS;
	set = lb_conn_set_of(&q.flow, &h);
	if (set && lb_conn_find(set, &q.flow, h.check, &real_id, &service_id)) {
		r = lb_live_real(real_id, service_id);
		if (!r)
			return LB_ICMP_PASS;
		if (r->fwd == LB_FWD_NAT) {
			if (r->family != p->flow.family ||
			    lb_icmp_nat_quote(p, data_end, &q, r->addr, r->port, 1, p->flow.dst, r->addr) ||
			    lb_set_outer_dst(p, data_end, r->addr))
				return LB_ICMP_DROP;
		}
		*real = r;
		return LB_ICMP_TO_REAL;
	}
	if (cfg->nat_enabled) {
		struct lb_nat_origin *o = bpf_map_lookup_elem(&lb_nat, &q.flow);

		if (!o)
			return LB_ICMP_PASS;
		if (lb_icmp_nat_quote(p, data_end, &q, o->vip, o->vport, 0, NULL, NULL))
			return LB_ICMP_DROP;
		return LB_ICMP_TO_CLIENT;
	}
	return LB_ICMP_PASS;
}

static __always_inline int lb_service_key_eq(const struct lb_service_key *a, const struct lb_service_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && *(const __u32 *)(x + 2) == *(const __u32 *)(y + 2);
}

/* Copies out the live entry for `key` in `set`, so no per-way pointer outlives the scan. */
static __always_inline int lb_service_in_set(const struct lb_service_set *set, const struct lb_service_key *key,
					     struct lb_service *out)
{
#pragma unroll
	for (int i = 0; i < LB_SVC_WAYS; i++) {
		const struct lb_service_slot *s = &set->ways[i];

		if (!s->svc.live || !lb_service_key_eq(&s->key, key))
			continue;
		out->id = s->svc.id;
		out->ring_slot = s->svc.ring_slot;
		return 1;
	}
	return 0;
}

/* The service-table entry of `key`: in its first set, or in its second when the first has spilled. */
static __always_inline int lb_service_lookup(const struct lb_service_key *key, struct lb_service *out)
{
	int ipv4 = key->family == LB_FAMILY_IPV4;
	__u32 idx = lb_hash_service(key, ipv4, LB_HASH_SEED) & lb_svc_set_mask;
	struct lb_service_set *set = bpf_map_lookup_elem(&lb_services, &idx);

	if (!set)
		return 0;
	if (lb_service_in_set(set, key, out))
		return 1;
	if (!set->spilled)
		return 0;
	idx = lb_hash_service(key, ipv4, LB_HASH_SEED_2) & lb_svc_set_mask;
	set = bpf_map_lookup_elem(&lb_services, &idx);
	return set && lb_service_in_set(set, key, out);
}

/*
 * The service a packet is addressed to, as its live ring (which carries the
 * service's settings), and its id; NULL when there is none.
 */
static __always_inline struct lb_ring *lb_find_service(const struct lb_pkt *p, __u32 *service_id)
{
	struct lb_service_key key __attribute__((aligned(8))) = {};
	struct lb_service svc = {};
	struct lb_ring *ring;
	int all_ports = 0;
	__u32 ring_key;

	__builtin_memcpy(key.addr, p->flow.dst, 16);
	key.port = p->flow.dport;
	key.proto = p->flow.proto;
	key.family = p->flow.family;
	if (!lb_service_lookup(&key, &svc)) {
		key.port = 0;
		if (!lb_service_lookup(&key, &svc))
			return NULL;
		all_ports = 1;
	}
	ring_key = svc.id * LB_RING_SLOTS + (svc.ring_slot & 1);
	ring = bpf_map_lookup_elem(&lb_rings, &ring_key);
	if (!ring)
		return NULL;
	/* All-ports services exist only as persistent services, as in IPVS. */
	if (all_ports && !(ring->params.flags & LB_SVC_F_PERSISTENT))
		return NULL;
	*service_id = svc.id;
	return ring;
}

SEC("xdp")
int lb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_pkt p = {};
	struct lb_config *cfg;
	struct lb_ring *ring;
	struct lb_conn_set *set;
	struct lb_conn_slot *slot;
	struct lb_flow_hash h;
	struct lb_real *r = NULL;
	__u32 real_id = LB_REAL_NONE;
	__u32 service_id = 0;
	__u32 fin = 0;
	int new_conn = 0;
	__u64 now;
	int rc;

	rc = lb_parse(data, data_end, &p);
	switch (rc) {
	case LB_P_NOT_IP:
		return lb_stat(ctx, LB_STAT_PASS_NOT_IP, XDP_PASS);
	case LB_P_MALFORMED:
		return lb_stat(ctx, LB_STAT_MALFORMED, lb_malformed_verdict == XDP_DROP ? XDP_DROP : XDP_PASS);
	case LB_P_FRAGMENT:
		return lb_stat(ctx, LB_STAT_FRAGMENT, lb_fragment_verdict == XDP_DROP ? XDP_DROP : XDP_PASS);
	case LB_P_OTHER:
		return lb_stat(ctx, LB_STAT_PASS_NO_SERVICE, XDP_PASS);
	}
	cfg = lb_get_config();
	if (!cfg || lb_forget_parse_path(ctx, &p, cfg))
		return XDP_PASS;
	if (rc == LB_P_ICMP) {
		switch (lb_icmp_steer(ctx, &p, cfg, &r)) {
		case LB_ICMP_TO_REAL:
			lb_count(&lb_stats, LB_STAT_ICMP_STEERED, ctx->data_end - ctx->data, 0);
			return lb_forward(ctx, &p, r, cfg, 1);
		case LB_ICMP_TO_CLIENT:
			lb_count(&lb_stats, LB_STAT_ICMP_TO_CLIENT, ctx->data_end - ctx->data, 0);
			goto route;
		case LB_ICMP_DROP:
			return lb_stat(ctx, LB_STAT_MALFORMED, XDP_DROP);
		default:
			return lb_stat(ctx, LB_STAT_PASS_NO_SERVICE, XDP_PASS);
		}
	}

	now = lb_now();
	if (p.tcp_flags & (LB_TCP_FLAG_FIN | LB_TCP_FLAG_RST))
		fin = LB_CONN_F_FIN;
	set = lb_conn_set_of(&p.flow, &h);
	if (!set)
		return XDP_PASS;

	/* Established flows first: they need neither the service entry nor its ring. */
	slot = lb_conn_find(set, &p.flow, h.check, &real_id, &service_id);
	if (slot) {
		__u64 last_seen = slot->conn.last_seen_ns;
		__u32 flags = slot->conn.flags;
		__u64 timeout = lb_conn_timeout(cfg, p.flow.proto, flags);

		if (lb_fresh(now, last_seen, timeout))
			r = lb_live_real(real_id, service_id);
		if (r) {
			/* Writes are rare: the time only when it has grown stale, the flag once. */
			if ((__s64)(now - last_seen) >= (__s64)lb_refresh_lag(timeout))
				slot->conn.last_seen_ns = now;
			if (fin & ~flags)
				slot->conn.flags = flags | fin;
		}
	}
	if (!r) {
		/* New flow, expired flow, or its real was removed: schedule afresh. */
		ring = lb_find_service(&p, &service_id);
		if (!ring) {
			if (cfg->nat_enabled) {
				rc = lb_nat_reply(ctx, &p, now);
				if (rc == 0)
					goto route;
				if (rc > 0)
					return rc;
			}
			return lb_stat(ctx, LB_STAT_PASS_NO_SERVICE, XDP_PASS);
		}
		if (ring->params.flags & LB_SVC_F_PERSISTENT)
			real_id = lb_persistent_real(ring, service_id, &p, now);
		else
			real_id = lb_schedule(ring, service_id, &p);
		r = lb_live_real(real_id, service_id);
		if (!r)
			return lb_stat(ctx, LB_STAT_NO_REAL, XDP_DROP);
		lb_conn_insert(set, &p.flow, h.check, real_id, service_id, fin, now);
		if (r->fwd == LB_FWD_NAT) {
			struct lb_flow_key reply = {};
			struct lb_nat_origin origin = {};

			__builtin_memcpy(reply.src, r->addr, 16);
			__builtin_memcpy(reply.dst, p.flow.src, 16);
			reply.sport = r->port;
			reply.dport = p.flow.sport;
			reply.proto = p.flow.proto;
			reply.family = p.flow.family;
			__builtin_memcpy(origin.vip, p.flow.dst, 16);
			origin.vport = p.flow.dport;
			origin.real_id = real_id;
			origin.last_seen_ns = now;
			bpf_map_update_elem(&lb_nat, &reply, &origin, BPF_ANY);
		}
		new_conn = 1;
	}

	lb_count(&lb_service_stats, service_id, p.ip_len, new_conn);
	lb_count(&lb_real_stats, real_id, p.ip_len, new_conn);
	rc = lb_forward(ctx, &p, r, cfg, 0);
	if ((rc == XDP_TX || rc == XDP_REDIRECT) && !p.answered)
		lb_count(&lb_stats, LB_STAT_FORWARDED, p.ip_len, 0);
	return rc;

route:
	/* NAT replies and ICMP errors translated for a client: one copy of the routing code. */
	return lb_route_out(ctx, &p);
}

char LICENSE[] SEC("license") = "GPL";
