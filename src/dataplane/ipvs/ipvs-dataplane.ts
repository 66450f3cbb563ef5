/**
 * The DataPlane contract over kernel IPVS (generic netlink, no ipvsadm).
 * Services it creates are recorded in an ownership file (ownership.ts); on
 * open it adopts the recorded ones still in the kernel, with their reals and
 * settings as the kernel holds them, and it refuses to write a service it
 * does not own. close() leaves the table forwarding; destroy() deletes what
 * it owns.
 */
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { LbctlError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { canonicalAddress, ipFamily } from '../../net/address.js';
import { NetlinkError } from '../../netlink/connection.js';
import {
  type DataPlane,
  type DataPlaneCounters,
  fwmarkVip,
  keyOf,
  PLAIN_IPIP,
  type RealSpec,
  type ServiceCounters,
  type ServiceKey,
  type ServiceSpec,
  serviceName,
  type Timeouts,
} from '../dataplane.js';
import {
  requireApplied,
  requireOpen,
  validateService,
  validateTimeouts,
} from '../validate-service.js';
import { IPVS_CAPABILITIES } from './capabilities.js';
import {
  IP_VS_SVC_F_SCHED_FALLBACK,
  IP_VS_SVC_F_SCHED_PORT,
  type IpvsDest,
  type IpvsDestState,
  IpvsNetlink,
  type IpvsService,
  type IpvsServiceKey,
  type IpvsServiceState,
  ipvsKeyName,
} from './ipvs-netlink.js';
import { IpvsOwnership } from './ownership.js';

export interface IpvsDataPlaneOptions {
  /** Names the ownership record. */
  readonly instance: string;
  /** Directory of the ownership record (the daemon's run directory). */
  readonly runDir: string;
  readonly timeouts?: Timeouts;
  readonly logger?: Logger;
}

interface Applied {
  service: ServiceSpec;
  reals: RealSpec[];
}

/** One service of this instance: as applied, and as the kernel holds it now. */
export interface IpvsServiceView {
  readonly service: ServiceSpec;
  readonly reals: readonly RealSpec[];
  readonly kernel?: IpvsServiceState;
  readonly dests: readonly IpvsDestState[];
}

/** IPVS answers a request for a service it lacks with ESRCH. */
const ESRCH = 3;
const realKey = (address: string, port: number) => `${canonicalAddress(address)}|${port}`;

function ipvsKey(k: ServiceKey): IpvsServiceKey {
  const family = ipFamily(k.vip) === 6 ? 6 : 4;
  if (k.fwmark !== undefined) return { family, fwmark: k.fwmark };
  return { family, protocol: k.protocol, vip: canonicalAddress(k.vip), port: k.port };
}

/** One string per kernel service, the same for lbctl's key and the kernel's. */
const keyString = (k: ServiceKey) => ipvsKeyName(ipvsKey(k));

function ipvsService(spec: ServiceSpec): IpvsService {
  const key = ipvsKey(spec);
  const full = key.family === 4 ? 32 : 128;
  return {
    key,
    scheduler: spec.scheduler,
    schedulerFlags:
      (spec.hashSourcePort === true ? IP_VS_SVC_F_SCHED_PORT : 0) |
      (spec.schedulerFallback === true ? IP_VS_SVC_F_SCHED_FALLBACK : 0),
    persistenceS: spec.persistence?.timeoutS ?? 0,
    prefixLength: spec.persistence?.prefixLength ?? full,
  };
}

const ipvsDest = (r: RealSpec): IpvsDest => ({
  address: canonicalAddress(r.address),
  port: r.port,
  forwarding: r.forwarding,
  weight: r.weight,
  upperThreshold: r.upperThreshold ?? 0,
  lowerThreshold: r.lowerThreshold ?? 0,
  tunnel: r.forwarding === 'tun' ? (r.tunnel ?? PLAIN_IPIP) : PLAIN_IPIP,
});

export class IpvsDataPlane implements DataPlane {
  readonly kind = 'ipvs' as const;
  private readonly applied = new Map<string, Applied>();
  private open = true;

  private constructor(
    private readonly netlink: IpvsNetlink,
    private readonly ownership: IpvsOwnership,
  ) {}

  /** Where an instance's ownership record lives under `runDir`. */
  static ownershipPath(runDir: string, instance: string): string {
    return join(runDir, `${instance}.ipvs.json`);
  }

  /** Opens IPVS (IPVS_UNAVAILABLE without it) and adopts the services recorded as this instance's. */
  static async open(options: IpvsDataPlaneOptions): Promise<IpvsDataPlane> {
    const netlink = await IpvsNetlink.open();
    try {
      const ownership = IpvsOwnership.load(
        IpvsDataPlane.ownershipPath(options.runDir, options.instance),
        options.instance,
      );
      const plane = new IpvsDataPlane(netlink, ownership);
      await plane.adopt(options.logger);
      if (options.timeouts !== undefined) await plane.setTimeouts(options.timeouts);
      return plane;
    } catch (err) {
      netlink.close();
      throw err;
    }
  }

  async setService(service: ServiceSpec, reals: readonly RealSpec[]): Promise<void> {
    requireOpen(this.open);
    validateService(IPVS_CAPABILITIES, service, reals);
    const wanted = ipvsService(service);
    const name = keyString(service);
    let current = this.applied.get(name);
    if (current === undefined) {
      await this.requireNotForeign(service);
      this.ownership.add(wanted.key);
      await this.netlink.addService(wanted);
      current = { service, reals: [] };
      this.applied.set(name, current);
    } else {
      await this.netlink.updateService(wanted);
      current.service = service;
    }
    const next = new Map(reals.map((r) => [realKey(r.address, r.port), r]));
    const before = new Map(current.reals.map((r) => [realKey(r.address, r.port), r]));
    // Add and update first, delete last: the service never runs with fewer reals than either version.
    for (const [k, r] of next) {
      const old = before.get(k);
      if (old === undefined) await this.netlink.addDest(wanted.key, ipvsDest(r));
      else if (!isDeepStrictEqual(ipvsDest(old), ipvsDest(r)))
        await this.netlink.updateDest(wanted.key, ipvsDest(r));
    }
    for (const [k, r] of before) {
      if (!next.has(k)) await this.netlink.deleteDest(wanted.key, r.address, r.port);
    }
    current.reals = reals.map((r) => ({ ...r }));
  }

  async removeService(key: ServiceKey): Promise<void> {
    requireOpen(this.open);
    requireApplied(this.applied.get(keyString(key)), key, `remove service ${serviceName(key)}`);
    const k = ipvsKey(key);
    await this.netlink.deleteService(k);
    this.applied.delete(keyString(key));
    this.ownership.forget(k);
  }

  async setReal(key: ServiceKey, real: RealSpec): Promise<void> {
    requireOpen(this.open);
    const applied = requireApplied(
      this.applied.get(keyString(key)),
      key,
      `set real ${real.address}:${real.port}`,
    );
    const k = realKey(real.address, real.port);
    const at = applied.reals.findIndex((r) => realKey(r.address, r.port) === k);
    const reals = [...applied.reals];
    if (at < 0) reals.push(real);
    else reals[at] = real;
    await this.setService(applied.service, reals);
  }

  async removeReal(key: ServiceKey, address: string, port: number): Promise<void> {
    requireOpen(this.open);
    const applied = requireApplied(
      this.applied.get(keyString(key)),
      key,
      `remove real ${address}:${port}`,
    );
    const k = realKey(address, port);
    await this.setService(
      applied.service,
      applied.reals.filter((r) => realKey(r.address, r.port) !== k),
    );
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    requireOpen(this.open);
    validateTimeouts({ ...timeouts });
    await this.netlink.setTimeouts(timeouts);
  }

  /** The kernel's connection timeouts (ipvsadm -L --timeout). */
  timeouts(): Promise<Timeouts> {
    requireOpen(this.open);
    return this.netlink.timeouts();
  }

  services(): readonly { service: ServiceSpec; reals: readonly RealSpec[] }[] {
    return [...this.applied.values()].map((a) => ({ service: a.service, reals: a.reals }));
  }

  /**
   * This instance's services as the kernel holds them now: stats, rates and
   * connection counts per service and real (what `lbctl status` shows), next
   * to the spec applied. A service someone deleted behind lbctl's back has
   * no kernel state.
   */
  async kernelState(): Promise<IpvsServiceView[]> {
    requireOpen(this.open);
    const kernel = new Map((await this.netlink.services()).map((s) => [ipvsKeyName(s.key), s]));
    const out: IpvsServiceView[] = [];
    for (const { service, reals } of this.applied.values()) {
      const state = kernel.get(keyString(service));
      const dests = state !== undefined ? await this.netlink.dests(state.key) : [];
      out.push({ service, reals, ...(state !== undefined ? { kernel: state } : {}), dests });
    }
    return out;
  }

  /** Entries of the kernel's connection hash table (ipvsadm's "size="). */
  connectionTableSize(): Promise<number> {
    requireOpen(this.open);
    return this.netlink.connectionTableSize();
  }

  async counters(): Promise<DataPlaneCounters> {
    const services: ServiceCounters[] = [];
    let packets = 0;
    let bytes = 0;
    for (const { service, kernel, dests } of await this.kernelState()) {
      const stats = kernel?.stats;
      packets += stats?.packets ?? 0;
      bytes += stats?.bytes ?? 0;
      services.push({
        service: keyOf(service),
        packets: stats?.packets ?? 0,
        bytes: stats?.bytes ?? 0,
        newConnections: stats?.connections ?? 0,
        reals: dests.map((d) => ({
          address: d.address,
          port: d.port,
          packets: d.stats.packets,
          bytes: d.stats.bytes,
          newConnections: d.stats.connections,
        })),
      });
    }
    return { global: { forwarded: { packets, bytes } }, services };
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.netlink.close();
  }

  async destroy(): Promise<void> {
    if (this.open) {
      for (const key of this.ownership.keys()) {
        await this.netlink.deleteService(key).catch((err: unknown) => {
          // Already gone (someone ran ipvsadm -C): nothing left to remove.
          if (!(err instanceof NetlinkError && err.errno === ESRCH)) throw err;
        });
        this.ownership.forget(key);
      }
      this.applied.clear();
    }
    this.ownership.remove();
    await this.close();
  }

  /** Takes over the recorded services still in the kernel; forgets the rest. */
  private async adopt(logger: Logger | undefined): Promise<void> {
    const present = new Map((await this.netlink.services()).map((s) => [ipvsKeyName(s.key), s]));
    for (const key of this.ownership.keys()) {
      const found = present.get(ipvsKeyName(key));
      if (found === undefined) {
        this.ownership.forget(key);
        continue;
      }
      const service = adoptedSpec(found);
      const reals: RealSpec[] = (await this.netlink.dests(found.key)).map((d) => ({
        address: d.address,
        port: d.port,
        weight: d.weight,
        forwarding: d.forwarding,
        ...(d.upperThreshold > 0 ? { upperThreshold: d.upperThreshold } : {}),
        ...(d.lowerThreshold > 0 ? { lowerThreshold: d.lowerThreshold } : {}),
        ...(d.forwarding === 'tun' && !isDeepStrictEqual(d.tunnel, PLAIN_IPIP)
          ? { tunnel: d.tunnel }
          : {}),
      }));
      this.applied.set(keyString(service), { service, reals });
      logger?.info({ service: serviceName(service) }, 'adopted IPVS service from an earlier run');
    }
  }

  private async requireNotForeign(service: ServiceSpec): Promise<void> {
    const existing = await this.netlink.services();
    if (existing.some((s) => ipvsKeyName(s.key) === keyString(service))) {
      throw new LbctlError(
        'IPVS_SERVICE_NOT_OWNED',
        `Cannot set service ${serviceName(service)}: the kernel's IPVS already has it and lbctl did not create it (ipvsadm, keepalived or another instance did; lbctl leaves it alone)`,
      );
    }
  }
}

/** A kernel service as lbctl's spec: what adoption starts from. */
function adoptedSpec(found: IpvsServiceState): ServiceSpec {
  const k = found.key;
  const full = k.family === 4 ? 32 : 128;
  const key: ServiceKey =
    'fwmark' in k
      ? // IPVS keeps no protocol for a mark; the reconciler's spec brings the configured one.
        {
          vip: fwmarkVip(k.family === 4 ? 'ipv4' : 'ipv6'),
          port: 0,
          protocol: 'tcp',
          fwmark: k.fwmark,
        }
      : { vip: k.vip, port: k.port, protocol: k.protocol };
  return {
    ...key,
    scheduler: found.scheduler as ServiceSpec['scheduler'],
    ...(found.persistenceS > 0
      ? {
          persistence: {
            timeoutS: found.persistenceS,
            ...(found.prefixLength !== full ? { prefixLength: found.prefixLength } : {}),
          },
        }
      : {}),
    ...((found.schedulerFlags & IP_VS_SVC_F_SCHED_PORT) !== 0 ? { hashSourcePort: true } : {}),
    ...((found.schedulerFlags & IP_VS_SVC_F_SCHED_FALLBACK) !== 0
      ? { schedulerFallback: true }
      : {}),
  };
}
