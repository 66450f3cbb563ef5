/**
 * The data plane as the control plane sees it: virtual services with their
 * real servers, counters, and a lifecycle. XdpDataPlane implements it with
 * BPF maps; a kernel-IPVS implementation can satisfy the same contract.
 */

export type Protocol = 'tcp' | 'udp';

/** ipvsadm -s names. lc/wlc/sed/nq need live connection counts (see docs/data-plane.md). */
export type Scheduler = 'rr' | 'wrr' | 'sh' | 'dh' | 'mh' | 'lc' | 'wlc' | 'sed' | 'nq';

/** ipvsadm -g (dr), -m (nat), -i (tun). */
export type Forwarding = 'dr' | 'nat' | 'tun';

export interface ServiceKey {
  readonly vip: string;
  /** 0 = all ports (allowed only with persistence, as in IPVS). */
  readonly port: number;
  readonly protocol: Protocol;
}

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
}

/** How the data plane reaches a real on the link (needed by XDP, ignored by IPVS). */
export interface NextHop {
  readonly interface: string;
  readonly mac: string;
}

export interface RealSpec {
  readonly address: string;
  /** NAT: port on the real; DR/TUN: must equal the service port (or be 0). */
  readonly port: number;
  /** 0 drains: established flows continue, no new ones. */
  readonly weight: number;
  readonly forwarding: Forwarding;
  readonly via?: NextHop;
}

export interface Timeouts {
  /** ipvsadm --set tcp tcpfin udp, in seconds. */
  readonly tcpS: number;
  readonly tcpFinS: number;
  readonly udpS: number;
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
}

export interface DataPlane {
  readonly kind: 'xdp' | 'ipvs';
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
  close(): Promise<void>;
}

export function serviceName(key: ServiceKey): string {
  const host = key.vip.includes(':') ? `[${key.vip}]` : key.vip;
  return `${key.protocol.toUpperCase()} ${host}:${key.port}`;
}
