/**
 * What `lbctl status` reports, as the daemon sends it over the control socket
 * and `--json` prints it. Plain JSON data; the text layouts are rendered from
 * it by the client (ipvsadm-format.ts, vrrp-format.ts).
 */
import type { Forwarding, Protocol, Scheduler } from '../dataplane/dataplane.js';

export interface TrafficStats {
  /** New connections scheduled (ipvsadm "Conns"). */
  readonly connections: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

/** Per-second rates over the sampling window (ipvsadm --rate: CPS, InPPS, ...). */
export interface TrafficRates {
  readonly connectionsPerS: number;
  readonly inPacketsPerS: number;
  readonly outPacketsPerS: number;
  readonly inBytesPerS: number;
  readonly outBytesPerS: number;
}

export interface RealStatus {
  readonly address: string;
  readonly port: number;
  /** `local`: IPVS delivers to the director itself (a real on a local address; ipvsadm's Local). */
  readonly forwarding: Forwarding | 'local';
  /** The weight in the data plane now. */
  readonly weight: number;
  /** Set while a runtime change (set-weight, quiesce) overrides the configured weight. */
  readonly override?: { readonly kind: 'weight' | 'quiesce'; readonly configuredWeight: number };
  /** Live TCP connections not closing, counted from the connection table. */
  readonly activeConnections: number;
  /** Live closing TCP connections and UDP flows, counted from the connection table. */
  readonly inactiveConnections: number;
  readonly stats: TrafficStats;
  readonly rates?: TrafficRates;
}

export interface ServiceStatus {
  readonly protocol: Protocol;
  /** A fwmark service: the family's unspecified address, port 0, and `fwmark`. */
  readonly vip: string;
  readonly port: number;
  /** A firewall-mark service (shown as ipvsadm does: "FWM  7"). */
  readonly fwmark?: number;
  readonly scheduler: Scheduler;
  readonly persistence?: { readonly timeoutS: number; readonly prefixLength?: number };
  readonly stats: TrafficStats;
  readonly rates?: TrafficRates;
  readonly reals: readonly RealStatus[];
}

export interface VrrpInstanceStatus {
  readonly name: string;
  readonly interface: string;
  readonly vrid: number;
  readonly state: string;
  /** Priority after trackers, as sent in adverts. */
  readonly effectivePriority: number;
  readonly configuredPriority: number;
  readonly vips: readonly string[];
  /** ISO time of the latest state change, absent before the first. */
  readonly lastTransition?: { readonly at: string; readonly from: string; readonly reason: string };
}

export interface StatusReport {
  readonly instance: string;
  /** Entries the connection table can hold (ipvsadm's "size="). */
  readonly connectionTableSize: number;
  /** ipvsadm --timeout, in seconds. */
  readonly timeouts: { readonly tcp: number; readonly tcpFin: number; readonly udp: number };
  readonly services: readonly ServiceStatus[];
  readonly vrrp: readonly VrrpInstanceStatus[];
  /** Live entries counted for the per-real connection columns. */
  readonly liveConnections: number;
  /** Length of the window the rates were measured over, when asked for. */
  readonly rateWindowMs?: number;
}

/** One row of the connection listing (ipvsadm -Lnc). */
export type { ConnectionRow } from '../dataplane/dataplane.js';

/**
 * One `more` line of a status answer: the daemon sends the services in
 * pieces, the rest of the report last (src/daemon/status-answer.ts), and the
 * client puts them back in order (src/cli/commands/status-request.ts).
 */
export interface StatusServicesLine {
  readonly services: readonly ServiceStatus[];
}
