/**
 * The configuration model: what the rest of lbctl (VRRP engine, health
 * checkers, data planes) consumes. Produced from either YAML or keepalived.conf,
 * fully resolved (every default and inherited value filled in) and deep-frozen.
 *
 * Conventions: addresses are strings with their `family`; durations are
 * integer milliseconds in fields ending in `Ms`; enums are string unions.
 */

import type { StatusCodeRange } from '../checkers/status-codes.js';
import type { Protocol, Scheduler, TunnelEncapsulation } from '../dataplane/dataplane.js';
import type { AddressFamily, AddressScope } from '../net/address.js';

// A checker's accepted HTTP status codes, as the checker reads them.
export type { StatusCodeRange } from '../checkers/status-codes.js';
// The LVS vocabulary belongs to the data planes; the model speaks it.
export {
  DEFAULT_CONNECTION_TABLE_SIZE,
  MAX_CONNECTION_TABLE_SIZE,
  MIN_CONNECTION_TABLE_SIZE,
} from '../dataplane/conn-table.js';
export {
  DEFAULT_REAL_WEIGHT,
  type Protocol,
  SCHEDULERS,
  type Scheduler,
  TUNNEL_CHECKSUMS,
  TUNNEL_TYPES,
  type TunnelEncapsulation,
} from '../dataplane/dataplane.js';
export { ADDRESS_SCOPES, type AddressFamily, type AddressScope } from '../net/address.js';

export const LB_KINDS = ['NAT', 'DR', 'TUN'] as const;
export type LbKind = (typeof LB_KINDS)[number];

export const DATA_PLANES = ['auto', 'xdp', 'ipvs'] as const;
export type DataPlaneChoice = (typeof DATA_PLANES)[number];

export const XDP_MODES = ['auto', 'native', 'generic'] as const;
/** Configuration `xdpMode`: an attach mode (`XdpMode` in src/bpf/link.ts) or `auto`. */
export type XdpModeChoice = (typeof XDP_MODES)[number];

export const DNS_QUERY_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const;
export type DnsQueryType = (typeof DNS_QUERY_TYPES)[number];

/**
 * The state a VRRP instance starts in (keepalived `state`). Not a state of the
 * running engine, which has more (`VrrpState` in src/vrrp/state.ts).
 */
export type InitialVrrpState = 'MASTER' | 'BACKUP';
export type VrrpVersion = 2 | 3;

/** A script to run, optionally as another user (keepalived: `script [user [group]]`). */
export interface ScriptCommand {
  readonly command: string;
  readonly user?: string;
  readonly group?: string;
}

export interface GarpSettings {
  /** Delay before the second burst of gratuitous ARP/NA after becoming master (0 = none). */
  readonly masterDelayMs: number;
  /** Messages per burst after becoming master. */
  readonly masterRepeat: number;
  /** Interval of periodic refreshes while master (0 = none). */
  readonly masterRefreshMs: number;
  readonly masterRefreshRepeat: number;
  /** Gap between gratuitous ARP messages. */
  readonly intervalMs: number;
  /** Gap between unsolicited neighbour advertisements. */
  readonly naIntervalMs: number;
}

export interface ConnectionTimeouts {
  readonly tcpMs?: number;
  readonly tcpFinMs?: number;
  readonly udpMs?: number;
}

/** keepalived's lvs_sync_daemon: IPVS connection sync, its role following one VRRP instance. */
export interface ConnectionSyncConfig {
  readonly interface: string;
  readonly vrrpInstance: string;
  /** Defaults to the instance's VRID, as in keepalived. */
  readonly syncId: number;
  /** Largest message in bytes; unset: 1472 (a 1500-byte MTU), as the kernel's master. */
  readonly maxLength?: number;
  readonly port: number;
  readonly ttl: number;
  /** Multicast group; unset: 224.0.0.81. */
  readonly group: string;
}

export interface GlobalSettings {
  readonly routerId?: string;
  readonly notificationEmail: readonly string[];
  readonly notificationEmailFrom?: string;
  readonly smtpServer?: { readonly host: string; readonly port: number };
  readonly smtpConnectTimeoutMs: number;
  readonly smtpAlert: boolean;
  readonly enableScriptSecurity: boolean;
  readonly scriptUser?: string;
  readonly scriptGroup?: string;
  readonly garp: GarpSettings;
  readonly scheduling: SchedulingSettings;
  readonly vrrpVersion: VrrpVersion;
  readonly mcastGroup4: string;
  readonly mcastGroup6: string;
  readonly dataPlane: DataPlaneChoice;
  readonly xdpMode: XdpModeChoice;
  readonly pinDir: string;
  readonly instanceName: string;
  readonly metricsListen?: string;
  /** Present when lbctl announces its VIPs over BGP (docs/scale-out.md). */
  readonly bgp?: BgpSettings;
  readonly connectionTimeouts: ConnectionTimeouts;
  /** Entries of the XDP connection table. */
  readonly connectionTableSize: number;
  readonly connectionSync?: ConnectionSyncConfig;
}

/**
 * Scheduling of the daemon's VRRP thread, or of its main thread without VRRP
 * instances (keepalived's VRRP process settings;
 * docs/operations.md#scheduling). Unset fields leave the thread as it was
 * started.
 */
export interface SchedulingSettings {
  /** Nice value, -20..19 (vrrp_priority). */
  readonly nice?: number;
  /** SCHED_RR at this priority, 1..99 (vrrp_rt_priority). */
  readonly realtimePriority?: number;
  /** RLIMIT_RTTIME in microseconds under realtimePriority (vrrp_rlimit_rttime; default 10000). */
  readonly realtimeLimitUs?: number;
  /** The CPUs the thread may run on (vrrp_cpu_affinity). */
  readonly cpuAffinity?: readonly number[];
  /**
   * Raise the loop to realtime, one priority at a time up to this one, whenever
   * it runs late (max_auto_priority; 0 or absent: never).
   */
  readonly maxAutoPriority?: number;
  /** How late, in microseconds, counts as late for maxAutoPriority (min_auto_priority_delay; default 1000000). */
  readonly minAutoPriorityDelayUs?: number;
  /** Lock the daemon's memory (vrrp_no_swap). */
  readonly noSwap: boolean;
}

export interface BgpSettings {
  /** The kernel routing table lbctl writes one route per announced VIP into (BIRD learns it). */
  readonly table: number;
  /** At shutdown: how long to wait after the withdraw before the data plane stops. */
  readonly withdrawDelayMs: number;
}

export interface SslSettings {
  readonly password?: string;
  readonly ca?: string;
  readonly certificate?: string;
  readonly key?: string;
}

export interface VrrpScript {
  readonly name: string;
  readonly script: string;
  readonly intervalMs: number;
  readonly timeoutMs?: number;
  /** -253..253; 0 means a failure puts tracking instances into FAULT. */
  readonly weight: number;
  readonly weightReverse: boolean;
  readonly fall: number;
  readonly rise: number;
  readonly user?: string;
  readonly group?: string;
  readonly initFail: boolean;
}

export interface TrackFile {
  readonly name: string;
  readonly file: string;
  readonly weight: number;
  readonly weightReverse: boolean;
}

/** A tracked interface, script or file; `weight` undefined means "the tracked object's own". */
export interface TrackReference {
  readonly name: string;
  readonly weight?: number;
  readonly reverse: boolean;
}

export interface VrrpNotify {
  readonly master?: ScriptCommand;
  readonly backup?: ScriptCommand;
  readonly fault?: ScriptCommand;
  readonly stop?: ScriptCommand;
  /** Run on every transition (keepalived `notify`). */
  readonly any?: ScriptCommand;
}

export interface VirtualIpAddress {
  readonly address: string;
  readonly family: AddressFamily;
  readonly prefixLength: number;
  readonly dev?: string;
  readonly label?: string;
  readonly scope?: AddressScope;
  readonly broadcast?: string;
}

export interface VirtualRoute {
  /** Destination prefix, e.g. `192.168.110.0/24`. */
  readonly destination: string;
  readonly family: AddressFamily;
  readonly type: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
  readonly src?: string;
  readonly via?: string;
  readonly dev?: string;
  readonly scope?: AddressScope;
  readonly table?: number;
  readonly metric?: number;
}

export interface UnicastPeer {
  readonly address: string;
  readonly family: AddressFamily;
  readonly minTtl?: number;
  readonly maxTtl?: number;
}

export interface VrrpAuthentication {
  readonly type: 'PASS' | 'AH';
  /** Secret: never log it; see redactConfig. */
  readonly password: string;
}

export interface VrrpInstance {
  readonly name: string;
  readonly state: InitialVrrpState;
  readonly interface?: string;
  readonly virtualRouterId: number;
  readonly priority: number;
  readonly advertIntervalMs: number;
  readonly version: VrrpVersion;
  /** Family of the advertised VIPs (and of the VRRP packets). */
  readonly family: AddressFamily;
  readonly preempt: boolean;
  /** FAULT while the instance's own interface is down (keepalived's default). */
  readonly trackPrimary: boolean;
  readonly preemptDelayMs: number;
  readonly unicastSrcIp?: string;
  readonly unicastPeers: readonly UnicastPeer[];
  readonly mcastSrcIp?: string;
  readonly authentication?: VrrpAuthentication;
  readonly virtualIpAddresses: readonly VirtualIpAddress[];
  readonly excludedVirtualIpAddresses: readonly VirtualIpAddress[];
  readonly virtualRoutes: readonly VirtualRoute[];
  readonly trackInterfaces: readonly TrackReference[];
  readonly trackScripts: readonly TrackReference[];
  readonly trackFiles: readonly TrackReference[];
  readonly notify: VrrpNotify;
  readonly smtpAlert: boolean;
  readonly garp: GarpSettings;
  /** Accept packets addressed to VIPs when not the address owner (VRRPv3 accept mode). */
  readonly accept: boolean;
}

export interface VrrpSyncGroup {
  readonly name: string;
  readonly instances: readonly string[];
  readonly trackInterfaces: readonly TrackReference[];
  readonly trackScripts: readonly TrackReference[];
  readonly trackFiles: readonly TrackReference[];
  readonly notify: VrrpNotify;
  readonly smtpAlert: boolean;
}

export type VirtualServerGroupEntry =
  | {
      readonly kind: 'address';
      readonly address: string;
      readonly family: AddressFamily;
      readonly port?: number;
    }
  | {
      /** Inclusive address range, e.g. 192.168.200.1-10 → first .1, last .10. */
      readonly kind: 'range';
      readonly first: string;
      readonly last: string;
      readonly family: AddressFamily;
      readonly port?: number;
    }
  | { readonly kind: 'fwmark'; readonly fwmark: number; readonly family?: AddressFamily };

export interface VirtualServerGroup {
  readonly name: string;
  readonly entries: readonly VirtualServerGroupEntry[];
}

export type VirtualServerTarget =
  | {
      readonly kind: 'address';
      readonly address: string;
      readonly family: AddressFamily;
      /** 0 only for persistent services, which match every port. */
      readonly port: number;
    }
  | { readonly kind: 'fwmark'; readonly fwmark: number; readonly family: AddressFamily }
  | { readonly kind: 'group'; readonly group: string };

export interface CheckerCommon {
  readonly connectIp?: string;
  readonly connectPort?: number;
  readonly bindTo?: string;
  readonly connectTimeoutMs: number;
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  /** Upper bound of the random delay before the first check (0 = start at once). */
  readonly warmupMs: number;
  readonly delayLoopMs: number;
}

export interface HttpUrl {
  readonly path: string;
  readonly digest?: string;
  readonly statusCodes: readonly StatusCodeRange[];
  readonly virtualhost?: string;
}

export interface TcpCheck extends CheckerCommon {
  readonly type: 'TCP_CHECK';
}

export interface HttpCheck extends CheckerCommon {
  readonly type: 'HTTP_GET' | 'SSL_GET';
  readonly urls: readonly HttpUrl[];
  readonly virtualhost?: string;
  readonly httpProtocol: '1.0' | '1.0C' | '1.1';
  /** Send SNI during the TLS handshake (SSL_GET only). */
  readonly enableSni: boolean;
}

export interface MiscCheck {
  readonly type: 'MISC_CHECK';
  readonly path: string;
  readonly timeoutMs?: number;
  readonly dynamic: boolean;
  readonly user?: string;
  readonly group?: string;
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  readonly warmupMs: number;
  readonly delayLoopMs: number;
}

export interface DnsCheck extends CheckerCommon {
  readonly type: 'DNS_CHECK';
  readonly queryType: DnsQueryType;
  readonly name: string;
}

export interface SmtpCheck extends CheckerCommon {
  readonly type: 'SMTP_CHECK';
  readonly heloName?: string;
}

export interface UdpCheck extends CheckerCommon {
  readonly type: 'UDP_CHECK';
  /** Hex payload to send; random when absent. */
  readonly payload?: string;
  readonly requireReply: boolean;
  readonly replyPattern?: string;
  readonly minReplyLength: number;
  readonly maxReplyLength: number;
}

export interface PingCheck extends CheckerCommon {
  readonly type: 'PING_CHECK';
}

export type Checker =
  | TcpCheck
  | HttpCheck
  | MiscCheck
  | DnsCheck
  | SmtpCheck
  | UdpCheck
  | PingCheck;
export type CheckerType = Checker['type'];

export interface RealServer {
  readonly address: string;
  readonly family: AddressFamily;
  readonly port: number;
  readonly weight: number;
  readonly lbKind: LbKind;
  /** TUN only: the encapsulation (`lvs_method TUN type gue port N csum`); absent = IPIP. */
  readonly tunnel?: TunnelEncapsulation;
  readonly inhibitOnFailure: boolean;
  /** keepalived uthreshold / lthreshold (ipvsadm -x / -y): connection limits, kernel IPVS only. */
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
  readonly notifyUp?: ScriptCommand;
  readonly notifyDown?: ScriptCommand;
  readonly virtualhost?: string;
  readonly checkers: readonly Checker[];
}

export interface SorryServer {
  readonly address: string;
  readonly family: AddressFamily;
  readonly port: number;
  readonly lbKind: LbKind;
  /** TUN only: the encapsulation (`sorry_server_lvs_method TUN type ...`); absent = IPIP. */
  readonly tunnel?: TunnelEncapsulation;
  /** sorry_server_inhibit: present at weight 0 while quorum holds, as inhibit_on_failure does for reals. */
  readonly inhibit: boolean;
}

export interface VirtualServer {
  readonly target: VirtualServerTarget;
  readonly protocol: Protocol;
  readonly scheduler: Scheduler;
  /** sh/mh also hash the client's source port (ipvsadm -b sh-port / mh-port). */
  readonly hashSourcePort: boolean;
  /** sh/mh pick another real when the hashed one is unavailable (ipvsadm -b sh-fallback / mh-fallback). */
  readonly schedulerFallback: boolean;
  readonly lbKind: LbKind;
  readonly delayLoopMs: number;
  /** Client affinity; absent when the service is not persistent. */
  readonly persistenceTimeoutMs?: number;
  /** Netmask applied to client addresses for persistence (ipvsadm -M). */
  readonly persistenceGranularity?: string;
  readonly virtualhost?: string;
  readonly sorryServer?: SorryServer;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly quorumUp?: ScriptCommand;
  readonly quorumDown?: ScriptCommand;
  readonly alpha: boolean;
  readonly omega: boolean;
  readonly inhibitOnFailure: boolean;
  readonly haSuspend: boolean;
  /** With global bgp: announce this virtual server's VIP while it can serve (default true). */
  readonly bgpAnnounce: boolean;
  readonly smtpAlert: boolean;
  readonly realServers: readonly RealServer[];
}

export interface Config {
  readonly global: GlobalSettings;
  readonly ssl?: SslSettings;
  readonly vrrpScripts: readonly VrrpScript[];
  readonly trackFiles: readonly TrackFile[];
  readonly vrrpSyncGroups: readonly VrrpSyncGroup[];
  readonly vrrpInstances: readonly VrrpInstance[];
  readonly virtualServerGroups: readonly VirtualServerGroup[];
  readonly virtualServers: readonly VirtualServer[];
}

/** Freezes `value` and everything reachable from it; returns it for chaining. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Loops rather than Object.values: no temporary array per object on large configs.
    if (Array.isArray(value)) {
      for (const child of value) deepFreeze(child);
    } else {
      for (const key in value) deepFreeze(value[key]);
    }
  }
  return value;
}
