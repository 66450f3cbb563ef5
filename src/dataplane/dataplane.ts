/**
 * The data plane as the control plane sees it: virtual services with their
 * real servers, counters, and a lifecycle. XdpDataPlane implements it with
 * BPF maps; a kernel-IPVS implementation can satisfy the same contract.
 */
import { canonicalAddress } from '../net/address.js';

/** Which implementation a data plane is (config `dataPlane`, minus `auto`). */
export type DataPlaneKind = 'xdp' | 'ipvs';

/**
 * Transport protocols of LVS services (ipvsadm -t, -u, --sctp-service): the one
 * protocol vocabulary from configuration to data plane. Configuration files
 * spell them in capitals (`protocol TCP`), as does every message (`protocolLabel`).
 */
export const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** "TCP", as ipvsadm and keepalived print a protocol. */
export const protocolLabel = (protocol: Protocol): string => protocol.toUpperCase();

/**
 * Every LVS scheduler, under its ipvsadm -s name. Which of them a data plane
 * implements is declared in its capabilities (src/dataplane/capabilities.ts).
 */
export const SCHEDULERS = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'lblc',
  'lblcr',
  'sh',
  'dh',
  'sed',
  'nq',
  'mh',
  'fo',
  'ovf',
] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

/** ipvsadm -g (dr), -m (nat), -i (tun). */
export type Forwarding = 'dr' | 'nat' | 'tun';

/** Encapsulations of a TUN real (ipvsadm --tun-type; keepalived `lvs_method TUN type ...`). */
export const TUNNEL_TYPES = ['ipip', 'gue', 'gre'] as const;
export type TunnelType = (typeof TUNNEL_TYPES)[number];

/** Checksums of a GUE/GRE tunnel (ipvsadm --tun-nocsum, --tun-csum, --tun-remcsum). */
export const TUNNEL_CHECKSUMS = ['nocsum', 'csum', 'remcsum'] as const;
export type TunnelChecksum = (typeof TUNNEL_CHECKSUMS)[number];

/** How a TUN real is reached: IPIP without checksum unless said otherwise. */
export interface TunnelEncapsulation {
  readonly type: TunnelType;
  /** GUE's destination UDP port (GUE only, and required there). */
  readonly port?: number;
  readonly checksum: TunnelChecksum;
}

/** IPVS's default encapsulation of a TUN real (ipvsadm -i). */
export const PLAIN_IPIP: TunnelEncapsulation = Object.freeze({ type: 'ipip', checksum: 'nocsum' });

/** ipvsadm's weight for a real server given none (keepalived's too). */
export const DEFAULT_REAL_WEIGHT = 1;

export interface ServiceKey {
  /** A firewall-mark service: the family's unspecified address (0.0.0.0 or ::). */
  readonly vip: string;
  /** 0 = all ports (allowed only with persistence, as in IPVS); always 0 on a fwmark service. */
  readonly port: number;
  /** On a fwmark service only what its checks speak: IPVS matches the mark alone. */
  readonly protocol: Protocol;
  /**
   * A firewall-mark service (ipvsadm -f, keepalived `virtual_server fwmark N`):
   * it takes the packets netfilter marked N, whatever their address or port.
   */
  readonly fwmark?: number;
}

/** The unspecified address standing for a fwmark service's family in `ServiceKey.vip`. */
export const fwmarkVip = (family: 'ipv4' | 'ipv6'): string =>
  family === 'ipv4' ? '0.0.0.0' : '::';

export interface Persistence {
  /** ipvsadm -p / keepalived persistence_timeout, in seconds. */
  readonly timeoutS: number;
  /** Client address prefix length that shares a real (keepalived persistence_granularity). */
  readonly prefixLength?: number;
}

export interface ServiceSpec extends ServiceKey {
  readonly scheduler: Scheduler;
  readonly persistence?: Persistence;
  /** sh/mh also hash the client's source port (ipvsadm sh-port / mh-port). */
  readonly hashSourcePort?: boolean;
  /**
   * sh/mh pass over a real at weight 0 or overloaded to the next one instead
   * of dropping (ipvsadm sh-fallback / mh-fallback). Kernel IPVS only: the
   * XDP program's rings never hold a weight-0 real, so it always falls back.
   */
  readonly schedulerFallback?: boolean;
}

/** How the data plane reaches a real on the link (needed by XDP, ignored by IPVS). */
export interface NextHop {
  readonly interface: string;
  readonly mac: string;
}

/**
 * A real server as the control plane wants it: the one shape that travels
 * from the configuration (through health, which sets the weight) to the
 * data plane.
 */
export interface DesiredReal {
  readonly address: string;
  /** NAT: port on the real; DR/TUN: must equal the service port (or be 0). */
  readonly port: number;
  /** 0 drains: established flows continue, no new ones. */
  readonly weight: number;
  readonly forwarding: Forwarding;
  /**
   * Connection thresholds (keepalived uthreshold / lthreshold, ipvsadm -x / -y):
   * above `upperThreshold` connections the real takes no new ones until it is
   * back under `lowerThreshold`. Absent or 0: no limit. Kernel IPVS only.
   */
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
  /** TUN reals only: the encapsulation; absent means PLAIN_IPIP. */
  readonly tunnel?: TunnelEncapsulation;
}

/** A real as the data plane applies it: a DesiredReal plus how to reach it on the link. */
export interface RealSpec extends DesiredReal {
  readonly via?: NextHop;
}

export interface Timeouts {
  /** ipvsadm --set tcp tcpfin udp, in seconds. */
  readonly tcpS: number;
  readonly tcpFinS: number;
  readonly udpS: number;
}

/** One connection as ipvsadm -Lnc lists it, whichever data plane holds it. */
export interface ConnectionRow {
  readonly protocol: Protocol;
  readonly expiresS: number;
  /** The state's IPVS name (ESTABLISHED, SYN_RECV, FIN_WAIT, UDP, ...). */
  readonly state: string;
  /** Endpoints in ipvsadm's numeric form: a.b.c.d:port, [v6]:port. */
  readonly source: string;
  readonly virtual: string;
  readonly destination: string;
}

export const DEFAULT_TIMEOUTS: Timeouts = { tcpS: 900, tcpFinS: 120, udpS: 300 };

export interface TrafficCounters {
  readonly packets: number;
  readonly bytes: number;
  readonly newConnections: number;
}

export interface RealCounters extends TrafficCounters {
  readonly address: string;
  readonly port: number;
}

export interface ServiceCounters extends TrafficCounters {
  readonly service: ServiceKey;
  readonly reals: readonly RealCounters[];
}

export interface DataPlaneCounters {
  /** Packets and bytes by verdict reason (passNoService, forwarded, malformed, ...). */
  readonly global: Readonly<Record<string, { packets: number; bytes: number }>>;
  readonly services: readonly ServiceCounters[];
  /** The connection table, where the data plane keeps one. */
  readonly connTable?: ConnTableCounters;
  /**
   * Segments of TCP flows this director never saw open, forwarded to the real the mh hash
   * picks without tracking them (a flow ECMP moved from another director); XDP only.
   */
  readonly hashForwarded?: number;
}

export interface ConnTableCounters {
  /** Entries the table holds. */
  readonly capacity: number;
  /** Entries a flow has ever taken (the program never empties one): the table's occupancy. */
  readonly used: number;
  /** New flows that replaced another flow's entry before its timeout (that flow is rescheduled). */
  readonly evicted: number;
}

export interface DataPlane {
  readonly kind: DataPlaneKind;
  /**
   * How many setService calls for distinct services the caller may have in
   * flight at once (default 1: one after the other); a data plane that
   * allows more applies calls for the same service in call order.
   */
  readonly concurrentServiceWrites?: number;
  /** Adds the service or replaces its settings and real set; applied atomically per service. */
  setService(service: ServiceSpec, reals: readonly RealSpec[]): Promise<void>;
  removeService(key: ServiceKey): Promise<void>;
  /** Adds a real to an existing service, or updates it (matched by address and port). */
  setReal(key: ServiceKey, real: RealSpec): Promise<void>;
  removeReal(key: ServiceKey, address: string, port: number): Promise<void>;
  setTimeouts(timeouts: Timeouts): Promise<void>;
  /** The services as applied, with their reals. */
  services(): readonly { service: ServiceSpec; reals: readonly RealSpec[] }[];
  counters(): Promise<DataPlaneCounters>;
  /** Releases handles; what was applied keeps forwarding (a restart adopts it). */
  close(): Promise<void>;
  /** Removes everything this instance applied (detaches, unpins), then closes. */
  destroy(): Promise<void>;
  /**
   * The caller finished a batch of changes (a reconciler pass): the data plane
   * may drop what it kept only so that changes of the same batch could share it.
   */
  settle?(): void | Promise<void>;
}

/** A service's key alone (a spec or counters carry more). */
export function keyOf(key: ServiceKey): ServiceKey {
  return {
    vip: key.vip,
    port: key.port,
    protocol: key.protocol,
    ...(key.fwmark !== undefined ? { fwmark: key.fwmark } : {}),
  };
}

/** Identifies a service across data planes, desired and applied state: equal keys, equal strings. */
export function serviceIdentity(key: ServiceKey): string {
  const vip = canonicalAddress(key.vip);
  if (key.fwmark !== undefined) return `fwmark|${vip.includes(':') ? 6 : 4}|${key.fwmark}`;
  return `${key.protocol}|${vip}|${key.port}`;
}

/** How logs and errors name a service: "TCP 10.0.0.1:80", "FWM 7", "FWM 7 IPv6" (ipvsadm's words). */
export function serviceName(key: ServiceKey): string {
  if (key.fwmark !== undefined) return `FWM ${key.fwmark}${key.vip.includes(':') ? ' IPv6' : ''}`;
  const host = key.vip.includes(':') ? `[${key.vip}]` : key.vip;
  return `${protocolLabel(key.protocol)} ${host}:${key.port}`;
}
