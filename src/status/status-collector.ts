/**
 * Builds a StatusReport from the running daemon: services and weights as the
 * data plane applied them, traffic counters, per-real connection counts from
 * the connection table, runtime overrides and the VRRP instances. Services
 * on kernel IPVS come from its own dumps (ipvs-status.ts), listed after the
 * XDP ones.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as abi from '../dataplane/abi.js';
import {
  type ConnTableMaps,
  countConnectionsByEndpoint,
  readTimeouts,
} from '../dataplane/conn-listing.js';
import type { DataPlaneCounters, ServiceKey, TrafficCounters } from '../dataplane/dataplane.js';
import type { IpvsDataPlane } from '../dataplane/ipvs/ipvs-dataplane.js';
import { kernelHz } from '../dataplane/kernel-hz.js';
import { programNowNs } from '../dataplane/program-clock.js';
import type { XdpDataPlane } from '../dataplane/xdp/xdp-dataplane.js';
import type { RealOverride } from '../reconcile/runtime-overrides.js';
import { serviceKey } from '../reconcile/spec-equality.js';
import { LoopSlicer } from '../time/loop-slice.js';
import { collectIpvsStatus } from './ipvs-status.js';
import type {
  RealStatus,
  ServiceStatus,
  StatusReport,
  TrafficRates,
  TrafficStats,
  VrrpInstanceStatus,
} from './status-report.js';

export interface StatusSources {
  readonly instance: string;
  readonly plane: () => XdpDataPlane | undefined;
  /** The kernel IPVS data plane, when some services run there. */
  readonly ipvs?: () => IpvsDataPlane | undefined;
  readonly overrideOf: (key: ServiceKey, address: string, port: number) => RealOverride | undefined;
  readonly configuredWeight: (key: ServiceKey, address: string, port: number) => number | undefined;
  readonly vrrp: () => readonly VrrpInstanceStatus[] | Promise<readonly VrrpInstanceStatus[]>;
}

export function connTableMaps(plane: XdpDataPlane): ConnTableMaps {
  return {
    conns: plane.map('conns'),
    reals: plane.map('reals'),
    services: plane.map('services'),
    config: plane.map('config'),
  };
}

export async function collectStatus(
  sources: StatusSources,
  options: { rateWindowMs?: number } = {},
): Promise<StatusReport> {
  const plane = sources.plane();
  const ipvsPlane = sources.ipvs?.();
  const ipvs =
    ipvsPlane === undefined
      ? undefined
      : await collectIpvsStatus(ipvsPlane, sources, options.rateWindowMs !== undefined);
  const xdp = plane === undefined ? undefined : await collectXdpStatus(plane, sources, options);
  const vrrp = await sources.vrrp();
  // XDP's table and timeouts head the listing when both run (both get the same timeouts).
  const head = xdp ?? ipvs;
  return {
    instance: sources.instance,
    connectionTableSize: head?.connectionTableSize ?? 0,
    timeouts: head?.timeouts ?? { tcp: 0, tcpFin: 0, udp: 0 },
    services: [...(xdp?.services ?? []), ...(ipvs?.services ?? [])],
    vrrp,
    liveConnections: (xdp?.liveConnections ?? 0) + (ipvs?.liveConnections ?? 0),
    ...(options.rateWindowMs !== undefined && head !== undefined
      ? { rateWindowMs: options.rateWindowMs }
      : {}),
  };
}

async function collectXdpStatus(
  plane: XdpDataPlane,
  sources: StatusSources,
  options: { rateWindowMs?: number },
): Promise<Omit<StatusReport, 'instance' | 'vrrp' | 'rateWindowMs'>> {
  const maps = connTableMaps(plane);
  // Every loop over services below gives the event loop turns: at 1,000
  // services × 32 reals each is tens of milliseconds (docs/operations.md#status).
  const slicer = new LoopSlicer();
  const first = await plane.counters();
  let rates: Map<string, TrafficRates> | undefined;
  if (options.rateWindowMs !== undefined) {
    const started = Date.now();
    await sleep(options.rateWindowMs);
    const second = await plane.counters();
    rates = await ratesBetween(first, second, (Date.now() - started) / 1000, slicer);
  }
  const counters = first;
  const nowNs = await programNowNs(kernelHz());
  const { reals: connectionCounts, total } = await countConnectionsByEndpoint(maps, nowNs);
  const countsByEndpoint = new Map<string, { active: number; inactive: number }>();
  for (const c of connectionCounts) {
    countsByEndpoint.set(endpointKey(c.service, c.address, c.port), c);
    await slicer.maybeYield();
  }
  const statsByEndpoint = await byEndpoint(counters, slicer);
  const traffic = (key: string) => {
    const rate = rates?.get(key);
    return {
      stats: trafficStats(statsByEndpoint.get(key)),
      ...(rate !== undefined ? { rates: rate } : {}),
    };
  };
  const services: ServiceStatus[] = [];
  for (const { service, reals } of plane.services()) {
    await slicer.maybeYield();
    const key = serviceKey(service);
    const realStatuses = reals.map((real): RealStatus => {
      const k = endpointKey(service, real.address, real.port);
      const override = sources.overrideOf(service, real.address, real.port);
      const counts = countsByEndpoint.get(k) ?? { active: 0, inactive: 0 };
      const configured = sources.configuredWeight(service, real.address, real.port);
      return {
        address: real.address,
        port: real.port,
        forwarding: real.forwarding,
        weight: real.weight,
        ...(override !== undefined && configured !== undefined
          ? { override: { kind: override.kind, configuredWeight: configured } }
          : {}),
        activeConnections: counts.active,
        inactiveConnections: counts.inactive,
        ...traffic(k),
      };
    });
    services.push({
      protocol: service.protocol,
      vip: service.vip,
      port: service.port,
      scheduler: service.scheduler,
      ...(service.persistence !== undefined ? { persistence: service.persistence } : {}),
      ...traffic(key),
      reals: realStatuses,
    });
  }
  const timeouts = readTimeouts(maps.config);
  return {
    connectionTableSize: maps.conns.info.maxEntries * abi.CONN_WAYS,
    timeouts: {
      tcp: Math.round(timeouts.tcp / 1e9),
      tcpFin: Math.round(timeouts.tcpFin / 1e9),
      udp: Math.round(timeouts.udp / 1e9),
    },
    services,
    liveConnections: total,
  };
}

/** The data plane counts what arrives from clients (the "in" side); DR/TUN replies bypass it. */
function trafficStats(c: TrafficCounters | undefined): TrafficStats {
  return {
    connections: c?.newConnections ?? 0,
    inPackets: c?.packets ?? 0,
    outPackets: 0,
    inBytes: c?.bytes ?? 0,
    outBytes: 0,
  };
}

/** Every service's and real's counters, by serviceKey / endpointKey. */
async function byEndpoint(
  counters: DataPlaneCounters,
  slicer: LoopSlicer,
): Promise<Map<string, TrafficCounters>> {
  const out = new Map<string, TrafficCounters>();
  for (const s of counters.services) {
    out.set(serviceKey(s.service), s);
    for (const r of s.reals) out.set(endpointKey(s.service, r.address, r.port), r);
    await slicer.maybeYield();
  }
  return out;
}

async function ratesBetween(
  a: DataPlaneCounters,
  b: DataPlaneCounters,
  seconds: number,
  slicer: LoopSlicer,
): Promise<Map<string, TrafficRates>> {
  const out = new Map<string, TrafficRates>();
  const before = await byEndpoint(a, slicer);
  const rate = (key: string, now: TrafficCounters) => {
    const then = before.get(key);
    const per = (x: number, y: number | undefined) => Math.max(0, (x - (y ?? 0)) / seconds);
    out.set(key, {
      connectionsPerS: per(now.newConnections, then?.newConnections),
      inPacketsPerS: per(now.packets, then?.packets),
      outPacketsPerS: 0,
      inBytesPerS: per(now.bytes, then?.bytes),
      outBytesPerS: 0,
    });
  };
  for (const s of b.services) {
    rate(serviceKey(s.service), s);
    for (const r of s.reals) rate(endpointKey(s.service, r.address, r.port), r);
    await slicer.maybeYield();
  }
  return out;
}

function endpointKey(service: ServiceKey, address: string, port: number): string {
  return `${serviceKey(service)}|${address}|${port}`;
}
