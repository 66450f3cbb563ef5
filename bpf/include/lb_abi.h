/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lbctl data-plane ABI: every struct, constant and map name shared between the
 * XDP program (bpf/lb.bpf.c) and user space (src/dataplane/abi.ts mirrors it;
 * test/dataplane/abi.test.ts checks sizes and offsets against the object's BTF).
 *
 * Addresses are 16 bytes; IPv4 uses the first 4 bytes, the rest stay zero.
 * Ports and addresses are in network byte order, everything else host order.
 */
#ifndef LB_ABI_H
#define LB_ABI_H

#include <linux/types.h>

/* Entries in one scheduling ring (prime, > 100x LB_MAX_REALS_PER_SERVICE). */
#define LB_RING_SIZE 65537
/* Most reals one service may hold (keeps Maglev disruption near 1/N). */
#define LB_MAX_REALS_PER_SERVICE 256
/* Each service owns two rings: the active one and the one being rewritten. */
#define LB_RING_SLOTS 2
/* Real id 0 means "no real": ring entries and connection entries never use it. */
#define LB_REAL_NONE 0
/*
 * Entries per connection-table set. A flow may live in either of two sets
 * chosen by two hashes of it; a new flow goes to the emptier one and only ever
 * evicts within those two (docs/data-plane.md, "Connection table").
 */
#ifndef LB_CONN_WAYS
#define LB_CONN_WAYS 8
#endif
/* Entries per service-table set; a service lives in one of two sets chosen by two hashes of its key. */
#define LB_SVC_WAYS 4

#define LB_FAMILY_IPV4 4
#define LB_FAMILY_IPV6 6

/* Scheduler of a service (ipvsadm -s). */
enum lb_sched {
	LB_SCHED_RR = 0,
	LB_SCHED_WRR = 1,
	LB_SCHED_SH = 2,
	LB_SCHED_DH = 3,
	LB_SCHED_MH = 4,
};

/* Forwarding method of a real (ipvsadm -g / -m / -i). */
enum lb_fwd {
	LB_FWD_DR = 0,
	LB_FWD_NAT = 1,
	LB_FWD_TUN = 2,
};

/* lb_ring_params.flags */
#define LB_SVC_F_PERSISTENT (1U << 0) /* ipvsadm -p */
#define LB_SVC_F_HASH_PORT (1U << 1)  /* sh/mh also hash the source port */

/* lb_real.flags */
#define LB_REAL_F_ACTIVE (1U << 0) /* cleared when the real is removed */

/* lb_conn.flags */
#define LB_CONN_F_FIN (1U << 0)         /* FIN or RST seen: the TCP-FIN timeout applies */
#define LB_CONN_F_ESTABLISHED (1U << 1) /* TCP: a segment without SYN seen, the handshake is over */

/* Global counters (lb_stats index): why a packet got its verdict. */
enum lb_stat_reason {
	LB_STAT_PASS_NO_SERVICE = 0, /* not addressed to a service: kernel handles it */
	LB_STAT_PASS_NOT_IP = 1,     /* not IPv4/IPv6 */
	LB_STAT_FORWARDED = 2,       /* sent to a real server: counted per real (lb_real_counters); this slot
				      * holds only the totals of lost reals, written by user space */
	LB_STAT_MALFORMED = 3,       /* headers fail validation */
	LB_STAT_NO_REAL = 4,         /* service has no real available: dropped */
	LB_STAT_FRAGMENT = 5,        /* IP fragment: passed to the kernel */
	LB_STAT_TOO_BIG = 6,         /* tunnelled packet would exceed the MTU: ICMP sent */
	LB_STAT_ICMP_STEERED = 7,    /* ICMP error about a tracked flow sent to its real (translated for NAT) */
	LB_STAT_NAT_REPLY = 8,       /* reply from a NAT real translated back */
	LB_STAT_ADJUST_FAILED = 9,   /* packet could not be grown for encapsulation */
	LB_STAT_ICMP_TO_CLIENT = 10, /* ICMP error about a NAT request translated and sent to its client */
	LB_STAT_PASS_NOT_SYN = 11,   /* TCP without SYN (or with RST) and no tracked flow: passed, not scheduled */
	LB_STAT_MARTIAN_SOURCE = 12, /* source no host may send from (or the VIP itself): dropped */
	LB_STAT_SOURCE_PORT_ZERO = 13, /* TCP/UDP source port 0: dropped */
	/* Connection-table events, not verdicts (the packet is counted under its verdict too). */
	LB_STAT_CONN_FILLED = 14,    /* a new flow took an entry never used before; the sum is the entries in use */
	LB_STAT_CONN_EVICTED = 15,   /* a new flow replaced another flow's entry before its timeout */
	/* A segment without SYN of an unknown flow of an mh service, forwarded by the hash and not
	 * tracked (a flow ECMP moved from another director); also counted as forwarded. */
	LB_STAT_HASH_FORWARDED = 16,
	LB_STAT_SYNC_LOST = 17,      /* a connection-sync event found lb_sync_events full: not sent */
	LB_STAT_MAX = 18,
};

/* lb_stats entries: room for reasons added later without changing the pinned map's shape. */
#define LB_STAT_SLOTS 32
_Static_assert(LB_STAT_MAX <= LB_STAT_SLOTS, "lb_stats has a slot for every reason");

/* A virtual service as packets name it. port 0 = all ports (persistent only). */
struct lb_service_key {
	__u8 addr[16];
	__be16 port;
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;
};

/*
 * The fields of a service-table entry that an update may change. Everything
 * else a service's packets need (scheduler, flags, persistence, ring length)
 * lives with the ring, so flipping ring_slot switches all of it at once.
 */
struct lb_service {
	__u32 id;       /* index into the per-service maps; fixed for the entry's life */
	__u8 ring_slot; /* which of the service's two rings is live */
	__u8 live;      /* 0: the entry is empty or being written */
	__u8 pad[2];
};

/* One service-table entry. 8-byte aligned so the program compares keys a word at a time. */
struct lb_service_slot {
	struct lb_service_key key;
	struct lb_service svc;
} __attribute__((aligned(8)));

/*
 * lb_services value: a set of LB_SVC_WAYS entries. A key lives in its first
 * set (first hash) if that has room, else in its second set (second hash);
 * `spilled` tells the program that some key of this first set lives in its
 * second set, so lookups that miss here look there too.
 */
struct lb_service_set {
	__u32 spilled; /* 0 or 1 */
	__u32 pad;
	struct lb_service_slot ways[LB_SVC_WAYS];
};

struct lb_real {
	__u8 addr[16];
	__be16 port;       /* NAT: destination port; DR/TUN: unused */
	__u8 family;
	__u8 fwd;          /* enum lb_fwd */
	__u8 mac[6];       /* next hop (the real, or the router towards it) */
	__u8 src_mac[6];   /* egress interface MAC */
	__u32 ifindex;     /* egress interface */
	__u32 service_id;  /* owning service (guards against reused ids) */
	__u32 weight;      /* 0 = draining: keeps its flows, gets no new ones */
	__u32 flags;       /* LB_REAL_F_* */
};

/* Per-slot settings of a service, stored in front of the ring they go with. */
struct lb_ring_params {
	__u32 ring_len;    /* meaningful entries in reals[]; 0 = no real */
	__u8 sched;        /* enum lb_sched */
	__u8 flags;        /* LB_SVC_F_* */
	__u8 persist_prefix; /* persistence granularity as a prefix length */
	__u8 pad;
	__u32 persist_timeout_s;
};

struct lb_ring {
	struct lb_ring_params params;
	__u32 reals[LB_RING_SIZE];
};

/*
 * A flow as seen on the wire (client -> VIP, or real -> client for NAT replies).
 * 8-byte aligned so the program compares keys a word at a time.
 */
struct lb_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family; /* 0 marks an empty connection-table entry */
	__u8 pad[2];
} __attribute__((aligned(8)));

struct lb_conn {
	__u64 last_seen_ns; /* the program's clock: jiffies in ns (see docs/data-plane.md) */
	__u32 real_id;
	__u32 service_id;   /* lets established flows skip the service lookup */
	__u32 flags;        /* LB_CONN_F_* */
	__u32 check;        /* binds key, real and service: a torn entry fails it and counts as absent */
};

/* One connection-table entry. */
struct lb_conn_slot {
	struct lb_flow_key key;
	struct lb_conn conn;
};

/*
 * A connection as connection sync carries it between the program and user
 * space: the records of lb_sync_events (a flow opened or changed state) and
 * the batch lb_sync_learn reads (flows learnt from a peer director). The
 * connection table's own layout never crosses: lb_sync_learn inserts with
 * the same code as the fast path.
 */
struct lb_sync_conn {
	struct lb_flow_key key;
	__u32 real_id;
	__u32 service_id;
	__u32 flags;     /* LB_CONN_F_* */
	__u32 timeout_s; /* events: the entry's timeout; learn: the timeout the peer sent (0: ours) */
	__u32 result;    /* learn: enum lb_sync_result, written back by the program */
	__u32 pad;
};

/* What lb_sync_learn did with one entry of its batch. */
enum lb_sync_result {
	LB_SYNC_NOT_RUN = 0,   /* beyond the batch the program reads */
	LB_SYNC_STORED = 1,    /* its own entry or a stale one updated */
	LB_SYNC_FILLED = 2,    /* took an entry never used before */
	LB_SYNC_EVICTED = 3,   /* replaced another live flow's entry */
	LB_SYNC_NO_REAL = 4,   /* the real is not live for that service: not stored */
	LB_SYNC_INVALID = 5,   /* family or protocol the table does not hold */
};

/* Entries one lb_sync_learn run reads (64 bytes each, within a test-run frame). */
#define LB_SYNC_LEARN_BATCH 32

/*
 * lb_conns value: a set of LB_CONN_WAYS entries, chosen by a hash of the flow.
 * The table is an array so the program finds a flow without calling into the kernel.
 */
struct lb_conn_set {
	struct lb_conn_slot ways[LB_CONN_WAYS];
};

struct lb_persist_key {
	__u8 src[16];       /* client address masked by the service's granularity */
	__u32 service_id;
};

struct lb_persist {
	__u64 last_seen_ns;
	__u32 real_id;
	__u32 pad;
};

/* NAT: where a real's reply must appear to come from. */
struct lb_nat_origin {
	__u8 vip[16];
	__be16 vport;
	__u8 pad[2];
	__u32 real_id;
	__u64 last_seen_ns;
};

struct lb_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_conns;
};

/*
 * lb_real_stats value: everything a forwarded packet counts, in one entry, so
 * it makes one counter lookup. User space derives the service's figures and
 * the global `forwarded` from these (src/dataplane/xdp/forwarding-counters.ts).
 */
struct lb_real_counters {
	__u64 packets;       /* scheduled to this real (IP bytes), failures after scheduling included */
	__u64 bytes;
	__u64 new_conns;
	__u64 fwd_packets;   /* of those, left with XDP_TX or XDP_REDIRECT and not answered */
	__u64 fwd_bytes;
	__u64 reply_packets; /* NAT replies from this real, translated back (IP bytes) */
	__u64 reply_bytes;
};

/* Words of the flow-hash key (lb_hash_flow): one cache line. */
#define LB_FLOW_HASH_KEY_WORDS 8

/* lb_config[0]: runtime knobs (ipvsadm --set and tunnel settings) and the flow-hash key. */
struct lb_config {
	__u64 tcp_timeout_ns;     /* default 900 s */
	__u64 tcp_fin_timeout_ns; /* default 120 s */
	__u64 udp_timeout_ns;     /* default 300 s */
	__u8 tun_src6[16];        /* outer source for IPv6 tunnels */
	__u8 tun_src4[4];         /* outer source for IPv4 tunnels */
	__u32 tun_mtu;            /* largest outer packet a tunnel may emit */
	__u32 nat_enabled;        /* nonzero when any NAT real exists */
	__u32 zero;               /* always 0; the program's verifier aid (lb_forget_parse_path) */
	/*
	 * The connection table's flow-hash key: LB_FLOW_HASH_KEY_WORDS random odd
	 * multipliers user space draws when it creates this map (kept across
	 * restarts that adopt the pins), so which flows share a set is secret.
	 */
	__u64 flow_hash_key[LB_FLOW_HASH_KEY_WORDS];
};

#define LB_DEFAULT_TCP_TIMEOUT_S 900
#define LB_DEFAULT_TCP_FIN_TIMEOUT_S 120
#define LB_DEFAULT_UDP_TIMEOUT_S 300

/* Map names (the pin file names under /sys/fs/bpf/lbctl/<instance>/). */
#define LB_MAP_SERVICES "lb_services"
#define LB_MAP_REALS "lb_reals"
#define LB_MAP_RINGS "lb_rings"
#define LB_MAP_RR_POS "lb_rr_pos"
#define LB_MAP_CONNS "lb_conns"
#define LB_MAP_PERSIST "lb_persist"
#define LB_MAP_NAT "lb_nat"
#define LB_MAP_TX_PORTS "lb_tx_ports"
#define LB_MAP_CONFIG "lb_config"
#define LB_MAP_STATS "lb_stats"
#define LB_MAP_SERVICE_STATS "lb_service_stats"
#define LB_MAP_REAL_STATS "lb_real_stats"
#define LB_MAP_SYNC_EVENTS "lb_sync_events"

#endif /* LB_ABI_H */
