/**
 * The services lbctl runs on kernel IPVS, as `lbctl status` shows them: read
 * from IPVS's own netlink dumps, so the numbers are the ones `ipvsadm -Ln`
 * prints (ActiveConn/InActConn per real, in and out counters, the kernel's
 * rate estimator for --rate, its connection-table size and timeouts).
 */

import type { IpvsDataPlane } from '../dataplane/ipvs/ipvs-dataplane.js';
import type { IpvsStats } from '../dataplane/ipvs/ipvs-netlink.js';
import { canonicalAddress } from '../net/address.js';
import type { StatusSources } from './status-collector.js';
import type { RealStatus, ServiceStatus, TrafficRates, TrafficStats } from './status-report.js';

export interface IpvsStatus {
  readonly services: ServiceStatus[];
  readonly connectionTableSize: number;
  readonly timeouts: { readonly tcp: number; readonly tcpFin: number; readonly udp: number };
  /** Connections the kernel counts on this instance's reals (active + inactive). */
  readonly liveConnections: number;
}

const NO_STATS: IpvsStats = {
  connections: 0,
  packets: 0,
  bytes: 0,
  inPackets: 0,
  outPackets: 0,
  inBytes: 0,
  outBytes: 0,
  connectionsPerSecond: 0,
  inPacketsPerSecond: 0,
  outPacketsPerSecond: 0,
  inBytesPerSecond: 0,
  outBytesPerSecond: 0,
};

const stats = (s: IpvsStats): TrafficStats => ({
  connections: s.connections,
  inPackets: s.inPackets,
  outPackets: s.outPackets,
  inBytes: s.inBytes,
  outBytes: s.outBytes,
});

const rates = (s: IpvsStats): TrafficRates => ({
  connectionsPerS: s.connectionsPerSecond,
  inPacketsPerS: s.inPacketsPerSecond,
  outPacketsPerS: s.outPacketsPerSecond,
  inBytesPerS: s.inBytesPerSecond,
  outBytesPerS: s.outBytesPerSecond,
});

/** `withRates`: the kernel's estimator (as ipvsadm --rate), not a sampling window. */
export async function collectIpvsStatus(
  plane: IpvsDataPlane,
  sources: Pick<StatusSources, 'overrideOf' | 'configuredWeight'>,
  withRates: boolean,
): Promise<IpvsStatus> {
  const views = await plane.kernelState();
  let live = 0;
  const services = views.map(({ service, reals, kernel, dests }): ServiceStatus => {
    const byEndpoint = new Map(dests.map((d) => [`${canonicalAddress(d.address)}|${d.port}`, d]));
    const realStatuses = reals.map((real): RealStatus => {
      const dest = byEndpoint.get(`${canonicalAddress(real.address)}|${real.port}`);
      const override = sources.overrideOf(service, real.address, real.port);
      const configured = sources.configuredWeight(service, real.address, real.port);
      const s = dest?.stats ?? NO_STATS;
      live += (dest?.activeConnections ?? 0) + (dest?.inactiveConnections ?? 0);
      return {
        address: real.address,
        port: real.port,
        forwarding: dest?.local === true ? 'local' : real.forwarding,
        // What the kernel holds, as ipvsadm shows it.
        weight: dest?.weight ?? real.weight,
        ...(override !== undefined && configured !== undefined
          ? { override: { kind: override.kind, configuredWeight: configured } }
          : {}),
        activeConnections: dest?.activeConnections ?? 0,
        inactiveConnections: dest?.inactiveConnections ?? 0,
        stats: stats(s),
        ...(withRates ? { rates: rates(s) } : {}),
      };
    });
    const s = kernel?.stats ?? NO_STATS;
    return {
      protocol: service.protocol,
      vip: service.vip,
      port: service.port,
      ...(service.fwmark !== undefined ? { fwmark: service.fwmark } : {}),
      scheduler: service.scheduler,
      ...(service.persistence !== undefined ? { persistence: service.persistence } : {}),
      stats: stats(s),
      ...(withRates ? { rates: rates(s) } : {}),
      reals: realStatuses,
    };
  });
  const t = await plane.timeouts();
  return {
    services,
    connectionTableSize: await plane.connectionTableSize(),
    timeouts: { tcp: t.tcpS, tcpFin: t.tcpFinS, udp: t.udpS },
    liveConnections: live,
  };
}
