import { LbctlError } from '../../errors.js';
import type { DataPlaneCapabilities } from '../capabilities.js';
import {
  type DataPlane,
  type DataPlaneCounters,
  DEFAULT_TIMEOUTS,
  keyOf,
  type RealSpec,
  type ServiceKey,
  type ServiceSpec,
  serviceIdentity,
  serviceName,
  type Timeouts,
} from '../dataplane.js';
import {
  requireApplied,
  requireOpen,
  validateService,
  validateTimeouts,
} from '../validate-service.js';
import { XDP_CAPABILITIES } from '../xdp/capabilities.js';

const key = serviceIdentity;

/**
 * A data plane in memory, for tests of everything above the data plane and
 * as the reference member of the data-plane contract suite: it validates
 * with the shared rules and the capabilities it stands in for (XDP's by
 * default), applies whole services, and records every write. Nothing
 * forwards, so every counter stays zero.
 */
export class MemoryDataPlane implements DataPlane {
  readonly kind: DataPlane['kind'];
  /** Every applied write, e.g. "set 10.0.0.1:80 10.0.0.11:80*1" or "remove 10.0.0.1:80". */
  readonly calls: string[] = [];
  /** Services (by "vip:port") whose next setService throws. */
  readonly failNext = new Set<string>();
  private readonly applied = new Map<string, { service: ServiceSpec; reals: RealSpec[] }>();
  private timeouts: Timeouts = DEFAULT_TIMEOUTS;
  private state: 'open' | 'closed' | 'destroyed' = 'open';

  constructor(readonly capabilities: DataPlaneCapabilities = XDP_CAPABILITIES) {
    this.kind = capabilities.kind;
  }

  /** 'destroyed' after destroy(): what a daemon's stop must leave. */
  get lifecycle(): 'open' | 'closed' | 'destroyed' {
    return this.state;
  }

  currentTimeouts(): Timeouts {
    return this.timeouts;
  }

  async setService(service: ServiceSpec, reals: readonly RealSpec[]): Promise<void> {
    this.requireOpen();
    const name = `${service.vip}:${service.port}`;
    if (this.failNext.delete(name)) throw new Error(`injected failure for ${name}`);
    validateService(this.capabilities, service, reals);
    this.calls.push(
      `set ${name} ${reals.map((r) => `${r.address}:${r.port}*${r.weight}`).join(',')}`,
    );
    this.applied.set(key(service), { service, reals: reals.map((r) => ({ ...r })) });
  }

  async removeService(k: ServiceKey): Promise<void> {
    this.requireService(k, `remove service ${serviceName(k)}`);
    this.calls.push(`remove ${k.vip}:${k.port}`);
    this.applied.delete(key(k));
  }

  async setReal(k: ServiceKey, real: RealSpec): Promise<void> {
    const applied = this.requireService(k, `set real ${real.address}:${real.port}`);
    const reals = applied.reals.filter(
      (r) => !(r.address === real.address && r.port === real.port),
    );
    const at = applied.reals.findIndex((r) => r.address === real.address && r.port === real.port);
    reals.splice(at < 0 ? reals.length : at, 0, real);
    await this.setService(applied.service, reals);
  }

  async removeReal(k: ServiceKey, address: string, port: number): Promise<void> {
    const applied = this.requireService(k, `remove real ${address}:${port}`);
    if (!applied.reals.some((r) => r.address === address && r.port === port)) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_REAL',
        `Cannot remove real ${address}:${port} from ${serviceName(k)}: it is not configured`,
      );
    }
    const reals = applied.reals.filter((r) => !(r.address === address && r.port === port));
    await this.setService(applied.service, reals);
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    this.requireOpen();
    validateTimeouts({ ...timeouts });
    this.timeouts = timeouts;
  }

  services(): readonly { service: ServiceSpec; reals: readonly RealSpec[] }[] {
    return [...this.applied.values()];
  }

  async counters(): Promise<DataPlaneCounters> {
    this.requireOpen();
    const zero = { packets: 0, bytes: 0, newConnections: 0 };
    return {
      global: {},
      services: [...this.applied.values()].map(({ service, reals }) => ({
        service: keyOf(service),
        ...zero,
        reals: reals.map((r) => ({ address: r.address, port: r.port, ...zero })),
      })),
    };
  }

  async close(): Promise<void> {
    if (this.state === 'open') this.state = 'closed';
  }

  async destroy(): Promise<void> {
    this.applied.clear();
    this.state = 'destroyed';
  }

  /** How often a caller ended a batch of changes (a reconciler pass). */
  settled = 0;

  settle(): void {
    this.settled++;
  }

  private requireService(k: ServiceKey, action: string) {
    this.requireOpen();
    return requireApplied(this.applied.get(key(k)), k, action);
  }

  private requireOpen(): void {
    requireOpen(this.state === 'open');
  }
}
