/**
 * Reads the live entries of the connection table (lb_conns) without holding
 * the event loop: the table is read in chunks of sets by batch lookups on the
 * thread pool (the next chunk is read while this one is decoded), and
 * decoding hands rows on and yields to the event loop every few
 * milliseconds, so VRRP timers keep running during a 1 M-entry listing. An
 * entry is live when its set way is occupied and younger than its timeout,
 * exactly the test the XDP program applies; stale entries stay in the array
 * until a new flow evicts them and are skipped here.
 */

import { ipv6ToString } from '../bpf/codec.js';
import type { BpfMap } from '../bpf/index.js';
import type { AddressFamily } from '../net/address.js';
import { LoopSlicer } from '../time/loop-slice.js';
import * as abi from './abi.js';
import type { ServiceKey } from './dataplane.js';
import { ServiceTable } from './service-table.js';

/** Sets per batch read: 512 sets = 2,048 entries = 128 KiB. */
const SETS_PER_CHUNK = 512;
/** Rows handed to onChunk at most at once (its encoding is synchronous work too). */
const ROWS_PER_CALL = 512;
/** Synchronous decoding between two event-loop turns (VRRP timers share the loop). */
const SLICE_MS = 3;

/** IPVS's state names for what the data plane tracks (it sees only FIN/RST, not the handshake). */
export type ConnectionState = 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'UDP';

/** IPVS's SYN_RECV timeout, which the program applies until a TCP handshake is over. */
const SYN_RECV_TIMEOUT_NS = 60e9;

export interface Connection {
  readonly protocol: 'tcp' | 'udp';
  /** Seconds until the entry expires, as ipvsadm -Lnc shows it. */
  readonly expiresS: number;
  readonly state: ConnectionState;
  readonly source: string;
  readonly virtual: string;
  readonly destination: string;
  /** Real id, for per-real counts. */
  readonly realId: number;
}

export interface ConnTimeoutsNs {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
}

export interface RealIdentity {
  readonly address: string;
  readonly port: number;
  readonly serviceId: number;
  readonly family: AddressFamily;
}

/** The maps the listing reads, by their role. */
export interface ConnTableMaps {
  readonly conns: BpfMap;
  readonly reals: BpfMap;
  readonly services: BpfMap;
  readonly config: BpfMap;
}

/**
 * Active reals by id (of those in `only`, when given), read from lb_reals in
 * one batch off the event loop and decoded in loop slices: 32,000 reals are
 * 20-30 ms of decoding.
 */
export async function readRealIdentities(
  reals: BpfMap,
  only?: { has(id: number): boolean },
): Promise<Map<number, RealIdentity>> {
  const slicer = new LoopSlicer();
  const size = abi.real.size;
  const raw = await reals.readArray(0, reals.info.maxEntries);
  const out = new Map<number, RealIdentity>();
  // Field by field rather than the codec: a table sized for 1,000 x 32 reals holds ~36,000 entries.
  const flagsAt = abi.real.offsetOf('flags');
  const familyAt = abi.real.offsetOf('family');
  const addrAt = abi.real.offsetOf('addr');
  const portAt = abi.real.offsetOf('port');
  const serviceAt = abi.real.offsetOf('service_id');
  for (let id = 0, at = 0; at + size <= raw.length; id++, at += size) {
    if ((id & 255) === 0) await slicer.maybeYield();
    if (only !== undefined && !only.has(id)) continue;
    if ((raw.readUInt32LE(at + flagsAt) & abi.REAL_F_ACTIVE) === 0) continue;
    const family: AddressFamily = raw[at + familyAt] === abi.FAMILY.ipv6 ? 'ipv6' : 'ipv4';
    out.set(id, {
      address: addressText(family, raw, at + addrAt),
      port: raw.readUInt16BE(at + portAt),
      serviceId: raw.readUInt32LE(at + serviceAt),
      family,
    });
  }
  return out;
}

/** The connection timeouts the program applies, from lb_config. */
export function readTimeouts(config: BpfMap): ConnTimeoutsNs {
  const key = Buffer.alloc(4);
  const value = config.lookup(key);
  if (value === undefined) return { tcp: 0, tcpFin: 0, udp: 0 };
  const c = abi.config.decode(value);
  return {
    tcp: Number(c.tcp_timeout_ns),
    tcpFin: Number(c.tcp_fin_timeout_ns),
    udp: Number(c.udp_timeout_ns),
  };
}

/** Service ids of the service table with their keys (VIP, port, protocol). */
export async function readServiceKeys(
  services: BpfMap,
): Promise<Map<number, { vip: string; port: number; protocol: 'tcp' | 'udp' }>> {
  const out = new Map<number, { vip: string; port: number; protocol: 'tcp' | 'udp' }>();
  for (const entry of await new ServiceTable(services).entriesOffLoop()) {
    const family: AddressFamily = entry.key.family === abi.FAMILY.ipv6 ? 'ipv6' : 'ipv4';
    out.set(entry.id, {
      vip: addressText(family, entry.key.addr, 0),
      port: entry.key.port,
      protocol: entry.key.proto === abi.PROTO.udp ? 'udp' : 'tcp',
    });
  }
  return out;
}

/**
 * Active and inactive connections per real id, IPVS's way: an established
 * TCP connection (handshake over, no FIN or RST yet) is active, everything
 * else live (SYN_RECV, FIN_WAIT, UDP) is inactive.
 */
export async function countConnectionsByReal(
  maps: ConnTableMaps,
  nowNs: number,
): Promise<{ byReal: Map<number, { active: number; inactive: number }>; total: number }> {
  const byReal = new Map<number, { active: number; inactive: number }>();
  const total = await listConnections(maps, {
    nowNs,
    onChunk: (connections) => {
      for (const c of connections) {
        let counts = byReal.get(c.realId);
        if (counts === undefined) {
          counts = { active: 0, inactive: 0 };
          byReal.set(c.realId, counts);
        }
        if (c.state === 'ESTABLISHED') counts.active++;
        else counts.inactive++;
      }
    },
  });
  return { byReal, total };
}

/** A real's live connections as IPVS counts them, with the service it belongs to. */
export interface RealConnectionCounts {
  readonly service: ServiceKey;
  readonly address: string;
  readonly port: number;
  readonly active: number;
  readonly inactive: number;
}

/**
 * countConnectionsByReal with each real id resolved to its service and
 * endpoint; ids of reals removed since (their flows move on their next
 * packet) are left out. `total` counts every live entry.
 */
export async function countConnectionsByEndpoint(
  maps: ConnTableMaps,
  nowNs: number,
): Promise<{ reals: RealConnectionCounts[]; total: number }> {
  const { byReal, total } = await countConnectionsByReal(maps, nowNs);
  const identities = await readRealIdentities(maps.reals, byReal);
  const serviceKeys = await readServiceKeys(maps.services);
  const reals: RealConnectionCounts[] = [];
  const slicer = new LoopSlicer();
  for (const [realId, counts] of byReal) {
    await slicer.maybeYield();
    const real = identities.get(realId);
    const service = real === undefined ? undefined : serviceKeys.get(real.serviceId);
    if (real === undefined || service === undefined) continue;
    reals.push({ service, address: real.address, port: real.port, ...counts });
  }
  return { reals, total };
}

export interface ListOptions {
  /** The program's clock now (programNowNs). */
  readonly nowNs: number;
  /** Called with each chunk's live connections, in table order. */
  readonly onChunk: (connections: Connection[]) => void | Promise<void>;
  /** Stop after this many live entries. */
  readonly limit?: number;
}

/**
 * Calls onChunk with the live connections of the table, chunk by chunk;
 * resolves with the number listed. Entries whose real was removed (their
 * flows are rescheduled on the next packet) are not listed.
 */
export async function listConnections(maps: ConnTableMaps, options: ListOptions): Promise<number> {
  const timeouts = readTimeouts(maps.config);
  const reals = await readRealIdentities(maps.reals);
  const realText = new Map<number, string>();
  for (const [id, r] of reals) realText.set(id, endpointText(r.family, r.address, r.port));

  const slot = abi.connSlot.size;
  const keyAt = abi.connSlot.offsetOf('key');
  const connAt = abi.connSlot.offsetOf('conn');
  const srcAt = keyAt + abi.flowKey.offsetOf('src');
  const dstAt = keyAt + abi.flowKey.offsetOf('dst');
  const sportAt = keyAt + abi.flowKey.offsetOf('sport');
  const dportAt = keyAt + abi.flowKey.offsetOf('dport');
  const protoAt = keyAt + abi.flowKey.offsetOf('proto');
  const familyAt = keyAt + abi.flowKey.offsetOf('family');
  const seenAt = connAt + abi.conn.offsetOf('last_seen_ns');
  const realAt = connAt + abi.conn.offsetOf('real_id');
  const serviceAt = connAt + abi.conn.offsetOf('service_id');
  const flagsAt = connAt + abi.conn.offsetOf('flags');
  const { nowNs } = options;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;

  // Flows share few VIP:port pairs: their text is built once.
  const virtualText = new Map<number, string>();
  const sets = maps.conns.info.maxEntries;
  const slicer = new LoopSlicer(SLICE_MS);
  const read = (first: number) =>
    first < sets ? maps.conns.readArray(first, Math.min(SETS_PER_CHUNK, sets - first)) : undefined;
  let listed = 0;
  let scanned = 0;
  let rows: Connection[] = [];
  const flush = async () => {
    if (rows.length === 0) return;
    const out = rows;
    rows = [];
    await options.onChunk(out);
  };
  let pending = read(0);
  for (let first = 0; pending !== undefined && listed < limit; first += SETS_PER_CHUNK) {
    const raw = await pending;
    // The thread pool reads the next chunk while this one is decoded.
    pending = read(first + SETS_PER_CHUNK);
    for (let at = 0; at + slot <= raw.length && listed < limit; at += slot) {
      if (++scanned % 256 === 0 && slicer.used()) {
        await flush();
        await slicer.maybeYield();
      }
      const familyByte = raw[at + familyAt]!;
      if (familyByte === 0) continue;
      const proto = raw[at + protoAt]!;
      const flags = raw.readUInt32LE(at + flagsAt);
      const tcp = proto === abi.PROTO.tcp;
      const state = connectionState(tcp, flags);
      const timeout =
        state === 'UDP'
          ? timeouts.udp
          : state === 'FIN_WAIT'
            ? timeouts.tcpFin
            : state === 'SYN_RECV'
              ? Math.min(SYN_RECV_TIMEOUT_NS, timeouts.tcp)
              : timeouts.tcp;
      const seen = raw.readUInt32LE(at + seenAt) + raw.readUInt32LE(at + seenAt + 4) * 4294967296;
      const age = nowNs - seen;
      if (age >= timeout) continue;
      const realId = raw.readUInt32LE(at + realAt);
      const real = reals.get(realId);
      const destination = realText.get(realId);
      if (real === undefined || destination === undefined) continue;
      if (real.serviceId !== raw.readUInt32LE(at + serviceAt)) continue;
      const family: AddressFamily = familyByte === abi.FAMILY.ipv6 ? 'ipv6' : 'ipv4';
      rows.push({
        protocol: tcp ? 'tcp' : 'udp',
        expiresS: Math.max(0, Math.floor((timeout - Math.max(0, age)) / 1e9)),
        state,
        source: endpointText(
          family,
          addressText(family, raw, at + srcAt),
          raw.readUInt16BE(at + sportAt),
        ),
        virtual: virtualOf(family, raw, at + dstAt, raw.readUInt16BE(at + dportAt), virtualText),
        destination,
        realId,
      });
      listed++;
      if (rows.length >= ROWS_PER_CALL) {
        await flush();
        await slicer.maybeYield();
      }
    }
  }
  // A read started past the limit is not needed; its result is dropped.
  pending?.catch(() => undefined);
  await flush();
  return listed;
}

function virtualOf(
  family: AddressFamily,
  raw: Buffer,
  at: number,
  port: number,
  cache: Map<number, string>,
): string {
  if (family === 'ipv6') return endpointText(family, addressText(family, raw, at), port);
  const key = raw.readUInt32BE(at) * 65536 + port;
  let text = cache.get(key);
  if (text === undefined) {
    text = endpointText(family, addressText(family, raw, at), port);
    cache.set(key, text);
  }
  return text;
}

/** The program's view of a flow in IPVS's state names: FIN/RST seen, handshake over, or neither. */
function connectionState(tcp: boolean, flags: number): ConnectionState {
  if (!tcp) return 'UDP';
  if ((flags & abi.CONN_F_FIN) !== 0) return 'FIN_WAIT';
  return (flags & abi.CONN_F_ESTABLISHED) !== 0 ? 'ESTABLISHED' : 'SYN_RECV';
}

/** A connection as the control socket sends it: [protocol, expiresS, state, source, virtual, destination]. */
export function connectionTuple(
  c: Pick<Connection, 'expiresS' | 'source' | 'virtual' | 'destination'> & {
    readonly protocol: string;
    readonly state: string;
  },
): [string, number, string, string, string, string] {
  return [c.protocol, c.expiresS, c.state, c.source, c.virtual, c.destination];
}

/** ipvsadm's numeric form: a.b.c.d:port, [v6]:port. */
export function endpointText(family: AddressFamily, address: string, port: number): string {
  return family === 'ipv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

function addressText(family: AddressFamily, buf: Buffer, at: number): string {
  if (family === 'ipv4') return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  return ipv6ToString(buf.subarray(at, at + 16));
}
