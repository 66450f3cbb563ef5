import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BpfMap,
  type BpfProgram,
  pinRoot as defaultPinRoot,
  XDP,
  type XdpAttachMode,
} from '../../bpf/index.js';
import { LbctlError } from '../../errors.js';
import { type Logger, silentLogger } from '../../log.js';
import type { LinkDirectory, LinkInfo } from '../../netlink/host-network.js';
import { LinkTable } from '../../netlink/link-table.js';
import { RouteNetlink } from '../../netlink/rtnetlink.js';
import { namespaceName } from '../../netns/identity.js';
import { LoopSlicer } from '../../time/loop-slice.js';
import * as abi from '../abi.js';
import { connTableSets, DEFAULT_CONNECTION_TABLE_SIZE } from '../conn-table.js';
import type { ConnectionSyncPort } from '../connection-sync.js';
import {
  type DataPlane,
  type DataPlaneCounters,
  DEFAULT_TIMEOUTS,
  type RealSpec,
  type ServiceKey,
  type ServiceSpec,
  serviceName,
  type Timeouts,
} from '../dataplane.js';
import { newFlowHashKey, readFlowHashKey } from '../flow-hash-key.js';
import { IdAllocator } from '../ids.js';
import { kernelHz } from '../kernel-hz.js';
import { type MaglevFill, MaglevFills } from '../maglev-fills.js';
import { PinDirectory } from '../pin-directory.js';
import { ServiceTable, serviceTableSets } from '../service-table.js';
import type { SupervisionReport } from '../supervision.js';
import {
  requireApplied,
  requireOpen,
  validateService,
  validateTimeouts,
} from '../validate-service.js';
import { attachedPinnedLinks, removePins, XdpAttachments } from './attachments.js';
import { XDP_CAPABILITIES } from './capabilities.js';
import { readCounters } from './counters-reader.js';
import {
  encodeConfig,
  encodeRealInto,
  encodeServiceKey,
  type TunnelOptions,
  u32Key,
} from './entries.js';
import { ForwardingCounters } from './forwarding-counters.js';
import { decodePinnedState } from './pinned-state.js';
import { buildRing, type MaglevIdentity, type Ring, ringParts } from './ring.js';
import {
  type LbMaps,
  type LbSkeleton,
  type LbSkeletonOptions,
  loadLbSkeleton,
} from './skeleton.js';
import { XdpSyncPort } from './sync-port.js';

export type { TunnelOptions };

export interface XdpDataPlaneOptions {
  /** Names this instance's pin directory: <pinRoot>/<instance>/. */
  readonly instance: string;
  /** Interfaces to attach the program to (none: load only, e.g. for test runs). */
  readonly interfaces?: readonly string[];
  readonly attachMode?: XdpAttachMode;
  /** Pin maps and links so forwarding survives a restart (default true). */
  readonly pin?: boolean;
  readonly pinRoot?: string;
  readonly maxServices?: number;
  readonly maxReals?: number;
  readonly connections?: number;
  readonly persistenceEntries?: number;
  readonly timeouts?: Timeouts;
  readonly tunnel?: TunnelOptions;
  /** Verdict for packets with invalid headers (default pass: the kernel drops them). */
  readonly malformed?: 'pass' | 'drop';
  /** Verdict for IP fragments (default pass). */
  readonly fragments?: 'pass' | 'drop';
  /** IPVS's sloppy_tcp: any TCP segment without RST may open a flow, not only a SYN (default false). */
  readonly sloppyTcp?: boolean;
  /** Connection sync: the program reports flows for peers (rodata knob; off costs nothing). */
  readonly connectionSync?: boolean;
  /** CONFIG_HZ for the program's clock (default: read from the kernel; 0: no jiffies clock). */
  readonly kernelHz?: number;
  readonly objectPath?: string;
  /**
   * Loads the program and creates its maps (default loadLbSkeleton). The
   * tests lend one that is already verified: each load runs the verifier
   * for seconds, longer than most tests take.
   */
  readonly loadSkeleton?: (options: LbSkeletonOptions) => Promise<LbSkeleton>;
  /**
   * Interfaces by name and index (the daemon passes its host's). Without it
   * the data plane keeps its own table, updated by netlink link events.
   */
  readonly links?: LinkDirectory;
  readonly logger?: Logger;
}

interface AppliedReal {
  readonly id: number;
  readonly spec: RealSpec;
  readonly link: LinkInfo | undefined;
  /** Its Maglev key and preference once a Maglev ring placed it (kept with its id). */
  maglev?: MaglevIdentity;
}

interface AppliedService {
  readonly id: number;
  spec: ServiceSpec;
  slot: number;
  reals: Map<string, AppliedReal>;
  /** The reals' specs in order, built once per change: services() hands them out without copying. */
  realSpecs: readonly RealSpec[];
  /** Some real of it is NAT (counted, so the config's NAT switch costs O(1) per change). */
  nat: boolean;
  /**
   * The Maglev placement its ring uses, while services that have the same
   * reals may share it (dropped by settle() unless shared).
   */
  maglev?: MaglevFill | undefined;
}

const NS_PER_S = 1_000_000_000;
/** Services whose updates may be in flight at once (see concurrentServiceWrites). */
const CONCURRENT_SERVICE_WRITES = 3;
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const serviceKeyString = (k: ServiceKey) => `${k.protocol}|${k.vip}|${k.port}`;
const realKeyString = (address: string, port: number) => `${address}|${port}`;

/**
 * The XDP data plane: owns the lb program, its maps (pinned per instance) and
 * its XDP links. Every service update writes the new ring into the service's
 * inactive slot and then replaces the service entry, so a packet sees either
 * the old or the new service, never a mix.
 */
export class XdpDataPlane implements DataPlane {
  readonly kind = 'xdp' as const;
  /**
   * A service's ring is built and written on the thread pool: with a few
   * services in flight, one's JS runs while others' Maglev fills and ring
   * writes proceed on the other core.
   */
  readonly concurrentServiceWrites = CONCURRENT_SERVICE_WRITES;
  /** The last change queued per service: calls for one service run one after the other. */
  private readonly queued = new Map<string, Promise<void>>();
  private readonly services_ = new Map<string, AppliedService>();
  private readonly serviceIds: IdAllocator;
  private readonly realIds: IdAllocator;
  private timeouts: Timeouts;
  private closed = false;
  /** The NAT switch as last written to lb_config. */
  private configNat = false;
  /** Applied services with a NAT real: the NAT switch is on while there is one. */
  private natServices = 0;
  private readonly attachments: XdpAttachments;
  private readonly serviceTable: ServiceTable;
  private readonly maglevFills = new MaglevFills();
  private readonly forwardingCounters: ForwardingCounters;
  /**
   * The connection table's flow-hash key: the one in lb_config when pins were
   * adopted (their flows stay where the program looks for them), else new.
   */
  private readonly flowHashKey: Buffer;

  private constructor(
    private readonly options: XdpDataPlaneOptions,
    readonly program: BpfProgram,
    private readonly maps: LbMaps,
    readonly pinDir: string | undefined,
    private readonly log: Logger,
    private readonly interfaces: LinkDirectory,
    /** Closed with the data plane (set when it keeps its own link table). */
    private readonly ownLinks: { close(): void } | undefined,
    /** The locked pin directory (undefined without pins): held until close. */
    private readonly pins: PinDirectory | undefined,
    /** Connection sync's program and ring, owned here until connectionSync() hands them out. */
    private sync: { learn: BpfProgram; events: BpfMap } | undefined,
  ) {
    this.serviceIds = new IdAllocator('service', 0, options.maxServices ?? 64);
    this.realIds = new IdAllocator('real', 1, options.maxReals ?? 4096);
    this.forwardingCounters = new ForwardingCounters(maps.realStats, maps.serviceStats, maps.stats);
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.serviceTable = new ServiceTable(maps.services);
    this.flowHashKey = readFlowHashKey(maps.config) ?? newFlowHashKey();
    this.attachments = new XdpAttachments(
      program,
      maps.txPorts,
      pinDir,
      options.attachMode ?? 'auto',
      log,
    );
  }

  /** Loads the program (reusing this instance's pinned maps if present) and attaches it. */
  static async open(options: XdpDataPlaneOptions): Promise<XdpDataPlane> {
    if (!INSTANCE_NAME.test(options.instance)) {
      throw new LbctlError(
        'DATAPLANE_INVALID_INSTANCE',
        `Cannot open data plane '${options.instance}': instance names are 1-64 letters, digits, '_', '.', '-'`,
      );
    }
    const log = options.logger ?? silentLogger();
    const maxServices = options.maxServices ?? 64;
    const maxReals = options.maxReals ?? 4096;
    const connections = options.connections ?? DEFAULT_CONNECTION_TABLE_SIZE;
    const pinDir =
      options.pin === false ? undefined : join(options.pinRoot ?? defaultPinRoot, options.instance);

    const connSets = connTableSets(connections);
    const serviceSets = serviceTableSets(maxServices);
    const hz = options.kernelHz ?? kernelHz();
    const pins =
      pinDir === undefined
        ? undefined
        : PinDirectory.prepare(pinDir, { attachedLinks: attachedPinnedLinks });
    if (pins?.replacedOwner !== undefined) {
      log.warn(
        {
          pinDir,
          previousPid: pins.replacedOwner.pid,
          previousNetns: namespaceName(pins.replacedOwner.netns),
        },
        'pins of this instance were last used in another network namespace whose XDP links are all gone; taking them over',
      );
    }
    const load = options.loadSkeleton ?? loadLbSkeleton;
    const { program, maps, syncLearn, syncEvents } = await load({
      ...(options.objectPath !== undefined ? { objectPath: options.objectPath } : {}),
      rodata: {
        malformedVerdict: options.malformed === 'drop' ? XDP.DROP : XDP.PASS,
        fragmentVerdict: options.fragments === 'drop' ? XDP.DROP : XDP.PASS,
        sloppyTcp: options.sloppyTcp === true ? 1 : 0,
        syncEnabled: options.connectionSync === true ? 1 : 0,
        connSetShift: 32 - Math.log2(connSets),
        serviceSetShift: 32 - Math.log2(serviceSets),
        // Unknown HZ leaves 0: the program then reads bpf_ktime_get_coarse_ns() instead.
        nsPerJiffy: hz === undefined || hz === 0 ? 0 : NS_PER_S / hz,
      },
      maxEntries: {
        rings: maxServices * abi.RING_SLOTS,
        rrPos: maxServices,
        serviceStats: maxServices,
        services: serviceSets,
        reals: maxReals,
        realStats: maxReals,
        conns: connSets,
        nat: connections,
        persist: options.persistenceEntries ?? 65536,
      },
      ...(pinDir !== undefined ? { pinDir } : {}),
    }).catch((err: unknown) => {
      pins?.discardIfCreated();
      throw err;
    });
    let ownLinks: LinkTable | undefined;
    let netlink: RouteNetlink | undefined;
    const owned = {
      close: () => {
        ownLinks?.close();
        netlink?.close();
      },
    };
    let plane: XdpDataPlane | undefined;
    try {
      let links = options.links;
      if (links === undefined) {
        netlink = new RouteNetlink();
        ownLinks = await LinkTable.open(netlink, log);
        links = ownLinks;
      }
      // Without sync, lb_xdp alone holds its (smallest) event ring: this handle has no use.
      if (syncLearn === undefined) syncEvents.close();
      plane = new XdpDataPlane(
        options,
        program,
        maps,
        pinDir,
        log,
        links,
        owned,
        pins,
        syncLearn === undefined ? undefined : { learn: syncLearn, events: syncEvents },
      );
      // Unpinned maps are new and empty: nothing to adopt.
      if (pinDir !== undefined) plane.adoptPinnedState();
      await plane.writeConfig();
      for (const ifname of options.interfaces ?? []) plane.attachments.attach(ifname);
      return plane;
    } catch (err) {
      // A failed start leaves nothing behind, unless it adopted an earlier run's pins.
      if (plane !== undefined) {
        if (pins?.created) await plane.destroy();
        else await plane.close();
      } else {
        owned.close();
        for (const m of Object.values(maps)) m.close();
        program.close();
        syncLearn?.close();
        syncEvents.close();
        pins?.discardIfCreated();
      }
      throw err;
    }
  }

  /**
   * Checks that what this data plane installed is still there and puts back
   * what someone else removed: XDP links and their program (see
   * XdpAttachments.supervise), every map's pin, the owner record. The
   * supervisor (src/dataplane/supervisor.ts) runs it every second.
   */
  supervise(): SupervisionReport {
    this.requireOpen();
    // The directory first: everything below is pinned into it.
    const directory = this.pins?.restore();
    const report = this.attachments.supervise();
    if (this.pinDir === undefined) return report;
    const restored = [...(directory === undefined ? [] : [directory]), ...report.restored];
    const unrestored = [...(report.unrestored ?? [])];
    for (const [key, name] of Object.entries(abi.MAPS) as [keyof LbMaps, string][]) {
      // lb_tx_ports is never pinned (see the skeleton).
      if (key === 'txPorts') continue;
      const path = join(this.pinDir, name);
      const map = this.maps[key];
      if (pinnedMapId(path) === map.info.id) continue;
      try {
        rmSync(path, { force: true });
        map.pin(path);
        restored.push(`pin ${path} had been removed or replaced: pinned again`);
      } catch (err) {
        // The maps still work; only a restart would lose them.
        unrestored.push(`pin ${path} is missing and cannot be restored: ${(err as Error).message}`);
      }
    }
    if (this.pins?.restoreOwnerRecord() === true)
      restored.push(`the owner record in ${this.pinDir} had been removed: written again`);
    return { ...report, restored, unrestored };
  }

  /** Distinct Maglev placements held (for tests and inspection). */
  get maglevPlacements(): number {
    return this.maglevFills.size;
  }

  /** The XDP mode each attachment got (native or generic). */
  linkModes(): Record<string, string> {
    return this.attachments.linkModes();
  }

  /**
   * Connection sync's side of the data plane (reports and learning), once;
   * undefined unless opened with connectionSync. The port owns what it uses.
   */
  connectionSync(): ConnectionSyncPort | undefined {
    this.requireOpen();
    const sync = this.sync;
    if (sync === undefined || this.options.connectionSync !== true) return undefined;
    this.sync = undefined;
    const port = new XdpSyncPort(sync.learn, sync.events, this.maps.stats, () =>
      [...this.services_.values()].map((s) => ({
        id: s.id,
        spec: s.spec,
        reals: [...s.reals.values()].map((r) => ({
          id: r.id,
          address: r.spec.address,
          port: r.spec.port,
          forwarding: r.spec.forwarding,
        })),
      })),
    );
    sync.events.close();
    return port;
  }

  /** A map of this instance, for inspection (bpftool-like views, tests). */
  map(name: keyof typeof abi.MAPS): BpfMap {
    return this.maps[name];
  }

  setService(spec: ServiceSpec, reals: readonly RealSpec[]): Promise<void> {
    return this.inTurn(spec, () => this.applyService(spec, reals));
  }

  /**
   * Runs `change` after every change of the same service queued before it:
   * a change reads the applied service (ids, ring slot) before it awaits its
   * ring write, so two at once would write the same inactive slot.
   */
  private inTurn(key: ServiceKey, change: () => Promise<void>): Promise<void> {
    const k = serviceKeyString(key);
    const before = this.queued.get(k);
    const run = before === undefined ? change() : before.then(change);
    const settled = run.catch(() => undefined);
    this.queued.set(k, settled);
    void settled.then(() => {
      if (this.queued.get(k) === settled) this.queued.delete(k);
    });
    return run;
  }

  private async applyService(spec: ServiceSpec, reals: readonly RealSpec[]): Promise<void> {
    this.requireOpen();
    this.validateService(spec, reals);
    const key = serviceKeyString(spec);
    const existing = this.services_.get(key);
    const id = existing?.id ?? this.serviceIds.allocate();
    const slot = existing === undefined ? 0 : 1 - existing.slot;
    const oldReals = existing?.reals ?? new Map<string, AppliedReal>();
    const newReals = new Map<string, AppliedReal>();
    const allocated: number[] = [];
    const egressIndexes = new Set<number>();
    const realWrites: AppliedReal[] = [];
    let ring: Ring | undefined;

    try {
      for (const realSpec of reals) {
        const rk = realKeyString(realSpec.address, realSpec.port);
        const previous = oldReals.get(rk);
        const link = realSpec.via === undefined ? undefined : this.egress(realSpec.via.interface);
        // A real whose forwarding data changed gets a new id: entries are rewritten in place
        // only for weight changes, so no packet reads a half-written address.
        const reuse = previous !== undefined && sameForwarding(previous, realSpec, link);
        const applied: AppliedReal = {
          id: reuse ? previous.id : this.realIds.allocate(),
          spec: realSpec,
          link,
        };
        // Same address and port: the same place in Maglev tables, without hashing again.
        if (reuse && previous.maglev !== undefined) applied.maglev = previous.maglev;
        if (!reuse) allocated.push(applied.id);
        // A kept real whose weight did not change has the same entry already.
        if (!reuse || previous.spec.weight !== realSpec.weight) realWrites.push(applied);
        if (link !== undefined) egressIndexes.add(link.index);
        newReals.set(rk, applied);
      }
      // One syscall per map rather than one per real (a service has up to hundreds).
      this.forwardingCounters.zeroReals(allocated);
      this.writeReals(realWrites, id);
      this.log.trace(
        { service: serviceName(spec), written: realWrites.length, reals: reals.length },
        'reals written',
      );
      // Once per interface, not once per real: reals of a service mostly share one.
      for (const index of egressIndexes) this.maps.txPorts.update(u32Key(index), u32Key(index));
      if (existing === undefined) {
        this.forwardingCounters.zeroService(id);
        this.maps.rrPos.update(u32Key(id), u32Key(0));
      }

      // The new ring, with the settings that go with it, goes into the inactive slot;
      // then one byte of the service entry (ring_slot) switches to it.
      ring = await buildRing(spec, [...newReals.values()], this.maglevFills);
      await this.maps.rings.updateOffLoop(u32Key(id * abi.RING_SLOTS + slot), ringParts(ring));
      this.serviceTable.put(encodeServiceKey(spec), id, slot, `service ${serviceName(spec)}`);
    } catch (err) {
      ring?.maglev?.release();
      // Nothing points at the new ids yet (the service entry was not replaced).
      for (const realId of allocated) this.realIds.release(realId);
      if (existing === undefined) this.serviceIds.release(id);
      throw err;
    }

    // After the flip: reals that left (or changed) stop carrying their flows, and the
    // service keeps their totals before their ids can be reused.
    for (const [rk, old] of oldReals) {
      const now = newReals.get(rk);
      if (now?.id === old.id) continue;
      this.deactivateReal(old.id, id);
    }
    const nat = usesNat(newReals);
    this.natServices += Number(nat) - Number(existing?.nat ?? false);
    existing?.maglev?.release();
    this.services_.set(key, {
      id,
      spec,
      slot,
      reals: newReals,
      realSpecs: Array.from(newReals.values(), (r) => r.spec),
      nat,
      ...(ring.maglev !== undefined ? { maglev: ring.maglev } : {}),
    });
    await this.writeConfigIfNatChanged();
    this.log.debug({ service: serviceName(spec), reals: newReals.size, slot }, 'service applied');
  }

  removeService(key: ServiceKey): Promise<void> {
    return this.inTurn(key, () => this.withdrawService(key));
  }

  /**
   * Frees the Maglev placements no other service shares (64 KiB each): they
   * were kept so that services of the same pass with the same reals could
   * share them; kept across passes they only cost memory (a later service
   * with the same reals fills its own, ~1 ms). A change in flight released
   * or replaces its service's placement itself (a second release is a no-op).
   * Sliced: freeing hundreds of placements takes 0.5–2 ms.
   */
  async settle(): Promise<void> {
    const slicer = new LoopSlicer();
    for (const service of this.services_.values()) {
      await slicer.maybeYield();
      if (service.maglev === undefined || service.maglev.shared) continue;
      service.maglev.release();
      service.maglev = undefined;
    }
  }

  private async withdrawService(key: ServiceKey): Promise<void> {
    this.requireOpen();
    const applied = this.services_.get(serviceKeyString(key));
    if (applied === undefined) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_SERVICE',
        `Cannot remove service ${serviceName(key)}: it is not configured`,
      );
    }
    this.serviceTable.delete(encodeServiceKey(applied.spec));
    // The service's own totals go with it; its reals' forwarded packets stay in the global count.
    for (const r of applied.reals.values()) this.deactivateReal(r.id, undefined);
    this.serviceIds.release(applied.id);
    applied.maglev?.release();
    this.services_.delete(serviceKeyString(key));
    if (applied.nat) this.natServices--;
    await this.writeConfigIfNatChanged();
  }

  setReal(key: ServiceKey, real: RealSpec): Promise<void> {
    return this.inTurn(key, async () => {
      const applied = this.requireService(key, `set real ${real.address}:${real.port}`);
      const reals = [...applied.reals.values()].map((r) => r.spec);
      const i = reals.findIndex((r) => r.address === real.address && r.port === real.port);
      if (i >= 0) reals[i] = real;
      else reals.push(real);
      await this.applyService(applied.spec, reals);
    });
  }

  removeReal(key: ServiceKey, address: string, port: number): Promise<void> {
    return this.inTurn(key, async () => {
      const applied = this.requireService(key, `remove real ${address}:${port}`);
      if (!applied.reals.has(realKeyString(address, port))) {
        throw new LbctlError(
          'DATAPLANE_NO_SUCH_REAL',
          `Cannot remove real ${address}:${port} from ${serviceName(key)}: it is not configured`,
        );
      }
      const reals = [...applied.reals.values()]
        .map((r) => r.spec)
        .filter((r) => !(r.address === address && r.port === port));
      await this.applyService(applied.spec, reals);
    });
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    this.requireOpen();
    validateTimeouts({ ...timeouts });
    this.timeouts = timeouts;
    await this.writeConfig();
  }

  services(): readonly { service: ServiceSpec; reals: readonly RealSpec[] }[] {
    // O(services): a reconciler pass reads this at its start, in one turn of the loop.
    return Array.from(this.services_.values(), (s) => ({ service: s.spec, reals: s.realSpecs }));
  }

  /** Read on the thread pool and put together in slices of the loop (counters-reader.ts). */
  async counters(): Promise<DataPlaneCounters> {
    this.requireOpen();
    return await readCounters(this.maps, this.forwardingCounters, this.services_, () =>
      this.requireOpen(),
    );
  }

  /** Closes handles; pinned maps and links stay, so forwarding continues. */
  async close(): Promise<void> {
    this.closeHandles();
    this.pins?.release();
  }

  /** Detaches from every interface and removes this instance's pins (still holding their lock). */
  async destroy(): Promise<void> {
    this.attachments.detachAll();
    this.closeHandles();
    if (this.pinDir !== undefined) removePins(this.pinDir);
    this.pins?.release();
    this.log.info(this.pinDir === undefined ? 'XDP detached' : 'XDP detached and pins removed');
  }

  private closeHandles(): void {
    if (this.closed) return;
    this.closed = true;
    this.attachments.close();
    for (const m of Object.values(this.maps)) m.close();
    this.program.close();
    this.sync?.learn.close();
    this.sync?.events.close();
    this.ownLinks?.close();
  }

  private async writeConfig(): Promise<void> {
    const natEnabled = this.natEnabled();
    this.maps.config.update(
      u32Key(0),
      encodeConfig(this.timeouts, this.options.tunnel ?? {}, natEnabled, this.flowHashKey),
    );
    this.configNat = natEnabled;
  }

  /** After a service change only the NAT switch can move: rewrite the config only if it did. */
  private async writeConfigIfNatChanged(): Promise<void> {
    if (this.natEnabled() !== this.configNat) await this.writeConfig();
  }

  private natEnabled(): boolean {
    return this.natServices > 0;
  }

  /**
   * Stops real `id` taking packets and carries its totals: into the global
   * `forwarded`, and into service `carryTo` unless the service goes too.
   */
  private deactivateReal(id: number, carryTo: number | undefined): void {
    const key = u32Key(id);
    const current = this.maps.reals.lookup(key);
    if (current !== undefined) {
      // flags is the last u32 of the struct: clearing it alone is a single aligned store.
      const value = Buffer.from(current);
      value.writeUInt32LE(0, abi.real.offsetOf('flags'));
      this.maps.reals.update(key, value);
    }
    this.forwardingCounters.carry(id, carryTo);
    this.realIds.release(id);
  }

  /** lb_reals entries of `reals` for service `serviceId`, in one batch. */
  private writeReals(reals: readonly AppliedReal[], serviceId: number): void {
    const size = abi.real.size;
    const keys = Buffer.alloc(4 * reals.length);
    const values = Buffer.alloc(size * reals.length);
    reals.forEach((r, i) => {
      keys.writeUInt32LE(r.id, 4 * i);
      encodeRealInto(r.spec, r.link, serviceId, values, size * i);
    });
    this.maps.reals.updatePacked(keys, values);
  }

  /** After a restart, adopt the ids of services and reals still in the pinned maps. */
  private adoptPinnedState(): void {
    for (const pinned of decodePinnedState(this.maps, this.serviceTable, this.interfaces)) {
      this.serviceIds.claim(pinned.id);
      const reals = new Map<string, AppliedReal>();
      for (const r of pinned.reals) {
        this.realIds.claim(r.id);
        if (r.ifindex !== 0) this.maps.txPorts.update(u32Key(r.ifindex), u32Key(r.ifindex));
        reals.set(realKeyString(r.spec.address, r.spec.port), r);
      }
      const nat = usesNat(reals);
      if (nat) this.natServices++;
      this.services_.set(serviceKeyString(pinned.spec), {
        id: pinned.id,
        spec: pinned.spec,
        slot: pinned.slot,
        reals,
        realSpecs: Array.from(reals.values(), (r) => r.spec),
        nat,
      });
    }
    if (this.services_.size > 0) {
      this.log.info({ services: this.services_.size }, 'recovered services from pinned maps');
    }
  }

  /** The egress link of a real, from the link directory (no netlink round trip mid-write). */
  private egress(name: string): LinkInfo {
    const link = this.interfaces.link(name);
    if (link === undefined || link.mac === undefined) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_INTERFACE',
        `Cannot look up interface ${name}: no such interface with a MAC address`,
      );
    }
    return link;
  }

  /** The shared checks, then XDP's own: every real needs a next hop, TUN a tunnel source. */
  private validateService(spec: ServiceSpec, reals: readonly RealSpec[]): void {
    validateService(XDP_CAPABILITIES, spec, reals);
    const fail = (r: RealSpec, reason: string): never => {
      throw new LbctlError(
        'DATAPLANE_INVALID_SERVICE',
        `Cannot set service ${serviceName(spec)}: real ${r.address}:${r.port} ${reason}`,
      );
    };
    for (const r of reals) {
      if (r.via === undefined)
        fail(r, 'needs a next hop (interface and MAC) on the XDP data plane');
      if (r.forwarding === 'tun') {
        const family = abi.familyOf(r.address, `real ${r.address}:${r.port}`);
        const src =
          family === 'ipv4' ? this.options.tunnel?.sourceV4 : this.options.tunnel?.sourceV6;
        if (src === undefined) {
          fail(
            r,
            `cannot be tunnelled to: ${family} tunnels need tunnel.source${family === 'ipv4' ? 'V4' : 'V6'}`,
          );
        }
      }
    }
  }

  private requireService(key: ServiceKey, action: string): AppliedService {
    this.requireOpen();
    return requireApplied(this.services_.get(serviceKeyString(key)), key, action);
  }

  private requireOpen(): void {
    requireOpen(!this.closed);
  }
}

/** The id of the map pinned at `path`, or undefined when nothing (or not a map) is there. */
function pinnedMapId(path: string): number | undefined {
  try {
    const map = BpfMap.openPinned(path);
    const { id } = map.info;
    map.close();
    return id;
  } catch {
    return undefined;
  }
}

function usesNat(reals: ReadonlyMap<string, AppliedReal>): boolean {
  for (const r of reals.values()) if (r.spec.forwarding === 'nat') return true;
  return false;
}

function sameForwarding(
  previous: AppliedReal,
  spec: RealSpec,
  link: LinkInfo | undefined,
): boolean {
  const p = previous.spec;
  const mac = p.via?.mac;
  const newMac = spec.via?.mac;
  return (
    p.forwarding === spec.forwarding &&
    // The same string mostly: only a different one is compared without case.
    (mac === newMac || mac?.toLowerCase() === newMac?.toLowerCase()) &&
    previous.link?.index === link?.index &&
    previous.link?.mac === link?.mac
  );
}
