import type {
  DataPlane,
  DataPlaneCounters,
  NextHop,
  RealSpec,
  ServiceKey,
  ServiceSpec,
  Timeouts,
} from '../../../src/dataplane/dataplane.js';
import type { NextHopResolver } from '../../../src/reconcile/next-hop-resolver.js';

const key = (k: ServiceKey) => `${k.protocol}|${k.vip}|${k.port}`;

/** A DataPlane in memory that records every write and can be told to fail. */
export class MemoryDataPlane implements DataPlane {
  readonly kind = 'xdp' as const;
  readonly calls: string[] = [];
  readonly applied = new Map<string, { service: ServiceSpec; reals: readonly RealSpec[] }>();
  /** Services (by "vip:port") whose next setService throws. */
  readonly failNext = new Set<string>();

  async setService(service: ServiceSpec, reals: readonly RealSpec[]): Promise<void> {
    const name = `${service.vip}:${service.port}`;
    if (this.failNext.delete(name)) throw new Error(`injected failure for ${name}`);
    this.calls.push(
      `set ${name} ${reals.map((r) => `${r.address}:${r.port}*${r.weight}`).join(',')}`,
    );
    this.applied.set(key(service), { service, reals: reals.map((r) => ({ ...r })) });
  }

  async removeService(k: ServiceKey): Promise<void> {
    this.calls.push(`remove ${k.vip}:${k.port}`);
    this.applied.delete(key(k));
  }

  async setReal(): Promise<void> {
    throw new Error('the reconciler writes whole services');
  }

  async removeReal(): Promise<void> {
    throw new Error('the reconciler writes whole services');
  }

  async setTimeouts(_t: Timeouts): Promise<void> {}

  services() {
    return [...this.applied.values()];
  }

  async counters(): Promise<DataPlaneCounters> {
    return { global: {}, services: [] };
  }

  async close(): Promise<void> {}
}

/** Next hops from a table; addresses missing from it are unreachable. */
export class TableNextHops implements NextHopResolver {
  readonly asked: string[] = [];
  constructor(readonly table: Map<string, NextHop> = new Map()) {}

  resolve(address: string): Promise<NextHop> {
    this.asked.push(address);
    const hop = this.table.get(address);
    return hop === undefined
      ? Promise.reject(new Error(`${address} did not answer address resolution`))
      : Promise.resolve(hop);
  }

  forget(): void {}
}

/** A next hop with a MAC derived from the address's last byte. */
export function hopFor(address: string): NextHop {
  const last = Number(address.split('.').pop());
  return { interface: 'eth0', mac: `02:00:00:00:00:${last.toString(16).padStart(2, '0')}` };
}
