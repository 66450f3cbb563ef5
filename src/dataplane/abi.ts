/**
 * Codecs for every struct in bpf/include/lb_abi.h, defined once here. A test
 * compares each codec's size and field offsets with the compiled object's BTF.
 */
import { isIPv6 } from 'node:net';
import { be16, bytes, ipv6ToBytes, mac, pad, u8, u32, u64, writeIpv4 } from '../bpf/codec.js';
import { struct } from '../bpf/index.js';
import { LbctlError } from '../errors.js';
import { type AddressFamily, ipv4Number } from '../net/address.js';
import type { Forwarding, Protocol, Scheduler } from './dataplane.js';

export const RING_SIZE = 65537;
export const MAX_REALS_PER_SERVICE = 256;
export const RING_SLOTS = 2;
export const REAL_NONE = 0;
/** Entries per connection-table set (LB_CONN_WAYS). */
export const CONN_WAYS = 8;
/** Entries per service-table set (LB_SVC_WAYS). */
export const SERVICE_WAYS = 4;

export const FAMILY = { ipv4: 4, ipv6: 6 } as const satisfies Record<AddressFamily, number>;

/** The transport protocols the program parses, by IP protocol number. */
export const PROTO = { tcp: 6, udp: 17 } as const satisfies Partial<Record<Protocol, number>>;
export type XdpProtocol = keyof typeof PROTO;

/** enum lb_sched: the schedulers the program implements. */
export const SCHED = { rr: 0, wrr: 1, sh: 2, dh: 3, mh: 4 } as const satisfies Partial<
  Record<Scheduler, number>
>;
export type XdpScheduler = keyof typeof SCHED;

/** enum lb_fwd: the forwarding methods the program implements. */
export const FWD = { dr: 0, nat: 1, tun: 2 } as const satisfies Record<Forwarding, number>;

export const SVC_F_PERSISTENT = 1;
export const SVC_F_HASH_PORT = 2;
export const REAL_F_ACTIVE = 1;
export const CONN_F_FIN = 1;
export const CONN_F_ESTABLISHED = 2;

/** enum lb_stat_reason, in index order. */
export const STAT_REASONS = [
  'passNoService',
  'passNotIp',
  'forwarded',
  'malformed',
  'noReal',
  'fragment',
  'tooBig',
  'icmpSteered',
  'natReply',
  'adjustFailed',
  'icmpToClient',
  'passNotSyn',
  'martianSource',
  'sourcePortZero',
] as const;
export type StatReason = (typeof STAT_REASONS)[number];

/** lb_stats indexes of the connection-table events (LB_STAT_CONN_*), which follow the reasons. */
export const STAT_CONN_FILLED = STAT_REASONS.length;
export const STAT_CONN_EVICTED = STAT_REASONS.length + 1;
/** lb_stats index of LB_STAT_HASH_FORWARDED: untracked segments an mh service forwarded by the hash. */
export const STAT_HASH_FORWARDED = STAT_REASONS.length + 2;
/** lb_stats index of LB_STAT_SYNC_LOST: connection-sync reports lost to a full ring. */
export const STAT_SYNC_LOST = STAT_REASONS.length + 3;

/** Map names as declared in bpf/lb.bpf.c (and used as pin file names). */
export const MAPS = {
  services: 'lb_services',
  reals: 'lb_reals',
  rings: 'lb_rings',
  rrPos: 'lb_rr_pos',
  conns: 'lb_conns',
  persist: 'lb_persist',
  nat: 'lb_nat',
  txPorts: 'lb_tx_ports',
  config: 'lb_config',
  stats: 'lb_stats',
  serviceStats: 'lb_service_stats',
  realStats: 'lb_real_stats',
} as const;

export const serviceKey = struct('lb_service_key', [
  bytes('addr', 16),
  be16('port'),
  u8('proto'),
  u8('family'),
]);

/** The part of a service-table entry an update may change (ring_slot) or that marks it live. */
export const service = struct('lb_service', [
  u32('id'),
  u8('ring_slot'),
  u8('live'),
  pad('pad', 2),
]);

/** One service-table entry: the key, then its lb_service (8-byte aligned). */
export const serviceSlot = struct('lb_service_slot', [
  bytes('key', serviceKey.size, 8),
  bytes('svc', service.size, 4),
]);

/** The lb_services value: SERVICE_WAYS entries of one set. */
export const serviceSet = struct('lb_service_set', [
  u32('spilled'),
  pad('pad', 4),
  bytes('ways', serviceSlot.size * SERVICE_WAYS, 8),
]);

/** A service's settings for one ring slot, stored in front of the ring. */
export const ringParams = struct('lb_ring_params', [
  u32('ring_len'),
  u8('sched'),
  u8('flags'),
  u8('persist_prefix'),
  pad('pad', 1),
  u32('persist_timeout_s'),
]);

export const real = struct('lb_real', [
  bytes('addr', 16),
  be16('port'),
  u8('family'),
  u8('fwd'),
  mac('mac'),
  mac('src_mac'),
  u32('ifindex'),
  u32('service_id'),
  u32('weight'),
  u32('flags'),
]);

export const flowKey = struct('lb_flow_key', [
  bytes('src', 16),
  bytes('dst', 16),
  be16('sport'),
  be16('dport'),
  u8('proto'),
  u8('family'),
  pad('pad', 2),
]);

export const conn = struct('lb_conn', [
  u64('last_seen_ns'),
  u32('real_id'),
  u32('service_id'),
  u32('flags'),
  u32('check'),
]);

/** One connection-table entry: the flow key, then its lb_conn. */
export const connSlot = struct('lb_conn_slot', [
  bytes('key', flowKey.size, 8),
  bytes('conn', conn.size, 8),
]);

/** The lb_conns value: CONN_WAYS entries of one set. */
export const connSet = struct('lb_conn_set', [bytes('ways', connSlot.size * CONN_WAYS, 8)]);

/** struct lb_sync_conn: a flow reported to, or learnt from, connection sync. */
export const syncConn = struct('lb_sync_conn', [
  bytes('key', flowKey.size, 8),
  u32('real_id'),
  u32('service_id'),
  u32('flags'),
  u32('timeout_s'),
  u32('result'),
  pad('pad', 4),
]);

/** enum lb_sync_result, by value. */
export const SYNC_RESULTS = ['notRun', 'stored', 'filled', 'evicted', 'noReal', 'invalid'] as const;
/** LB_SYNC_LEARN_BATCH: entries one lb_sync_learn run reads. */
export const SYNC_LEARN_BATCH = 32;

export const persistKey = struct('lb_persist_key', [bytes('src', 16), u32('service_id')]);

export const persist = struct('lb_persist', [u64('last_seen_ns'), u32('real_id'), pad('pad', 4)]);

export const natOrigin = struct('lb_nat_origin', [
  bytes('vip', 16),
  be16('vport'),
  pad('pad', 2),
  u32('real_id'),
  u64('last_seen_ns'),
]);

export const counters = struct('lb_counters', [u64('packets'), u64('bytes'), u64('new_conns')]);

/** lb_real_stats value: scheduled, forwarded and NAT-reply counts of one real. */
export const realCounters = struct('lb_real_counters', [
  u64('packets'),
  u64('bytes'),
  u64('new_conns'),
  u64('fwd_packets'),
  u64('fwd_bytes'),
  u64('reply_packets'),
  u64('reply_bytes'),
]);

export const config = struct('lb_config', [
  u64('tcp_timeout_ns'),
  u64('tcp_fin_timeout_ns'),
  u64('udp_timeout_ns'),
  bytes('tun_src6', 16),
  bytes('tun_src4', 4),
  u32('tun_mtu'),
  u32('nat_enabled'),
  pad('zero', 4),
  bytes('flow_hash_key', 64, 8),
]);

/** The ring value: its lb_ring_params, then LB_RING_SIZE host-order u32 real ids. */
export const RING_BYTES = ringParams.size + RING_SIZE * 4;

/** Every struct codec, for the BTF comparison test. */
export const ALL_STRUCTS = [
  serviceKey,
  service,
  serviceSlot,
  serviceSet,
  ringParams,
  real,
  flowKey,
  conn,
  connSlot,
  connSet,
  syncConn,
  persistKey,
  persist,
  natOrigin,
  counters,
  realCounters,
  config,
] as const;

/** An address as the ABI's 16-byte field (IPv4 in the first four bytes). */
export function addrBytes(family: AddressFamily, text: string, what = 'address'): Buffer {
  const out = Buffer.alloc(16);
  if (family === 'ipv4') {
    writeIpv4(what, text, out, 0);
  } else {
    ipv6ToBytes(what, text).copy(out, 0);
  }
  return out;
}

/** The family of an address literal, or an error naming it. */
export function familyOf(text: string, what: string): AddressFamily {
  if (ipv4Number(text) >= 0) return 'ipv4';
  if (isIPv6(text)) return 'ipv6';
  throw new LbctlError(
    'DATAPLANE_INVALID_ADDRESS',
    `Cannot use ${what}: '${text}' is not an IP address`,
  );
}
