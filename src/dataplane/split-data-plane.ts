/**
 * Several data planes behind one DataPlane: with `dataPlane: auto` each
 * service runs on the data plane chosen for it (XDP where it can, IPVS for
 * the rest), and the control plane above still sees a single data plane.
 */
import { LbctlError } from '../errors.js';
import {
  type DataPlane,
  type DataPlaneCounters,
  type DataPlaneKind,
  type RealSpec,
  type ServiceKey,
  type ServiceSpec,
  serviceIdentity,
  serviceName,
  type Timeouts,
} from './dataplane.js';

const keyString = serviceIdentity;

export class SplitDataPlane implements DataPlane {
  /** The first data plane's kind (the one `auto` prefers). */
  readonly kind: DataPlaneKind;
  private readonly routes = new Map<string, DataPlane>();

  constructor(
    private readonly planes: ReadonlyMap<DataPlaneKind, DataPlane>,
    routes: Iterable<readonly [ServiceKey, DataPlaneKind]>,
  ) {
    const first = [...planes.keys()][0];
    if (first === undefined) throw new Error('SplitDataPlane needs at least one data plane');
    this.kind = first;
    for (const [key, kind] of routes) {
      const plane = planes.get(kind);
      if (plane === undefined) throw new Error(`SplitDataPlane has no ${kind} data plane`);
      this.routes.set(keyString(key), plane);
    }
  }

  /** The data plane of `kind`, when this split has one. */
  part(kind: DataPlaneKind): DataPlane | undefined {
    return this.planes.get(kind);
  }

  /** Sends `key` to the data plane of `kind` from now on (a reload adding a service). */
  route(key: ServiceKey, kind: DataPlaneKind): void {
    const plane = this.planes.get(kind);
    if (plane === undefined) throw new Error(`SplitDataPlane has no ${kind} data plane`);
    this.routes.set(keyString(key), plane);
  }

  /** The data plane carrying `key`. */
  planeOf(key: ServiceKey): DataPlane {
    const k = keyString(key);
    // Not configured now but adopted from an earlier run: it lives where it was applied.
    const plane =
      this.routes.get(k) ??
      [...this.planes.values()].find((p) => p.services().some((s) => keyString(s.service) === k));
    if (plane === undefined) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_SERVICE',
        `Cannot use service ${serviceName(key)}: no data plane was chosen for it`,
      );
    }
    return plane;
  }

  async setService(service: ServiceSpec, reals: readonly RealSpec[]): Promise<void> {
    return this.planeOf(service).setService(service, reals);
  }

  async removeService(key: ServiceKey): Promise<void> {
    return this.planeOf(key).removeService(key);
  }

  async setReal(key: ServiceKey, real: RealSpec): Promise<void> {
    return this.planeOf(key).setReal(key, real);
  }

  async removeReal(key: ServiceKey, address: string, port: number): Promise<void> {
    return this.planeOf(key).removeReal(key, address, port);
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    for (const plane of this.planes.values()) await plane.setTimeouts(timeouts);
  }

  services(): readonly { service: ServiceSpec; reals: readonly RealSpec[] }[] {
    return [...this.planes.values()].flatMap((p) => p.services());
  }

  async counters(): Promise<DataPlaneCounters> {
    const global: Record<string, { packets: number; bytes: number }> = {};
    const all = await Promise.all([...this.planes.values()].map((p) => p.counters()));
    for (const c of all) {
      for (const [reason, v] of Object.entries(c.global)) {
        const sum = global[reason] ?? { packets: 0, bytes: 0 };
        global[reason] = { packets: sum.packets + v.packets, bytes: sum.bytes + v.bytes };
      }
    }
    const connTable = all.find((c) => c.connTable !== undefined)?.connTable;
    return {
      global,
      services: all.flatMap((c) => c.services),
      ...(connTable !== undefined ? { connTable } : {}),
    };
  }

  async settle(): Promise<void> {
    for (const plane of this.planes.values()) await plane.settle?.();
  }

  async close(): Promise<void> {
    for (const plane of this.planes.values()) await plane.close();
  }

  async destroy(): Promise<void> {
    for (const plane of this.planes.values()) await plane.destroy();
  }
}
