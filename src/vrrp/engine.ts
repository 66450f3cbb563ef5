import { isDeepStrictEqual } from 'node:util';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import { canonicalAddress } from '../net/address.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { Clock } from '../time/clock.js';
import { VrrpInstance } from './instance.js';
import type {
  EndpointSpec,
  LinkStateSource,
  NetworkEffects,
  ReceivedPacket,
  VrrpEndpoint,
  VrrpTransport,
} from './io.js';
import { type CommandRunner, Notifier } from './notify.js';
import {
  type ResolvedInstanceOptions,
  resolveInstanceOptions,
  type VrrpInstanceOptions,
} from './options.js';
import {
  type Contribution,
  fileContribution,
  NO_CONTRIBUTION,
  weightedContribution,
} from './priority.js';
import type { SmtpSettings } from './smtp.js';
import type { StateChange } from './state.js';
import { SyncGroup, type SyncGroupOptions } from './sync-group.js';
import { FileTracker, type TrackFileDefinition } from './trackers/file-tracker.js';
import { ScriptTracker, type TrackScriptDefinition } from './trackers/script-tracker.js';

/** What a configuration says about VRRP: what a reload may change. */
export interface VrrpEngineConfig {
  readonly instances: readonly VrrpInstanceOptions[];
  readonly syncGroups?: readonly SyncGroupOptions[];
  /** keepalived `vrrp_script` blocks, referenced by name from instances. */
  readonly scripts?: readonly TrackScriptDefinition[];
  /** keepalived `track_file` blocks, referenced by name from instances. */
  readonly trackFiles?: readonly TrackFileDefinition[];
  readonly smtp?: SmtpSettings;
  readonly routerId?: string;
}

export interface VrrpEngineOptions extends VrrpEngineConfig {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly transport: VrrpTransport;
  readonly effects: NetworkEffects;
  readonly links: LinkStateSource;
  readonly notifyTimeoutMs?: number;
  readonly notifyRunner?: CommandRunner;
}

/** Packets that could not be given to any instance, by reason. */
export interface DispatchCounters {
  /** Shorter than a VRRP header (8 bytes). */
  tooShort: number;
  /** A VRID no instance on that interface uses. */
  unknownVrid: number;
  /** From an address no router has: unspecified (0.0.0.0, ::), multicast or broadcast. */
  invalidSource: number;
}

/** What the engine reads of the data plane's health (src/dataplane/supervisor.ts has the whole). */
export interface DataPlaneHealthView {
  /** Still being opened (XDP loading and attaching, first services going in): it forwards nothing yet. */
  readonly starting?: boolean;
  readonly interfaces: readonly string[];
  readonly broken: readonly { readonly interface: string }[];
}

/** The key of the data plane among an instance's tracked objects (FAULT reason `tracked data-plane down`). */
export const DATA_PLANE_TRACKER = 'data-plane';

export const DISPATCH_DROP_REASONS = ['tooShort', 'unknownVrid', 'invalidSource'] as const;

/** A source address no VRRP router can have. */
function invalidSource(address: string): boolean {
  if (address.includes(':')) {
    const lower = address.toLowerCase();
    return lower === '::' || lower.startsWith('ff');
  }
  const first = Number(address.split('.')[0]);
  return address === '0.0.0.0' || address === '255.255.255.255' || (first >= 224 && first <= 239);
}

/** Instances sharing one endpoint: one (family, interface, unicast source). */
interface Route {
  readonly key: string;
  readonly spec: EndpointSpec;
  readonly byVrid: Map<number, VrrpInstance>;
  endpoint?: VrrpEndpoint | undefined;
}

/** One instance of a configuration, resolved, with the endpoint it uses. */
interface PlannedInstance {
  readonly raw: VrrpInstanceOptions;
  readonly resolved: ResolvedInstanceOptions;
  readonly source: string;
  readonly routeKey: string;
  readonly spec: EndpointSpec;
  /**
   * What makes it the same instance across a reload, as keepalived's
   * vrrp_exist: family, interface, VRID, and unicast or not with the source.
   * (The name is not part of it; the source address is, here, for multicast too.)
   */
  readonly identity: string;
}

/** What a reload does to VRRP, checked whole before anything changes. */
export interface VrrpReloadPlan {
  /** Every reason the configuration cannot be applied; empty when it can. */
  readonly problems: readonly string[];
  /** One line, e.g. "1 instance changed (VI_1), 1 added (VI_3), 0 removed, 2 unchanged". */
  readonly summary: string;
  /** Applies the plan; throws if `problems` is not empty. */
  apply(): void;
}

/**
 * Owns the VRRP instances of one daemon: opens one endpoint per
 * (family, interface, unicast source), dispatches received packets by VRID,
 * feeds trackers into priorities and ties sync groups together. A reload
 * (`planReload`) changes instances in place, as keepalived 2.2.7 does.
 */
export class VrrpEngine {
  readonly notifier: Notifier;
  readonly dispatch: DispatchCounters = { tooShort: 0, unknownVrid: 0, invalidSource: 0 };
  private readonly dispatchLog: RateLimitedLog;
  private instancesByName = new Map<string, VrrpInstance>();
  private readonly groups: SyncGroup[] = [];
  private readonly scripts = new Map<string, ScriptTracker>();
  private readonly files = new Map<string, FileTracker>();
  private readonly routes = new Map<string, Route>();
  /** Per instance: its raw settings, identity, and the tracker subscriptions to undo. */
  private readonly held = new Map<
    VrrpInstance,
    {
      raw: VrrpInstanceOptions;
      identity: string;
      source: string;
      route: Route;
      unbind: (() => void)[];
    }
  >();
  private readonly stateListeners = new Set<(change: StateChange) => void>();
  private readonly options: VrrpEngineOptions;
  private config: VrrpEngineConfig;
  private started = false;
  /** The instances have left INIT (at start, or once the data plane stopped starting). */
  private instancesStarted = false;
  /** The data plane's last reported health (undefined until one is reported). */
  private dataPlaneHealth: DataPlaneHealthView | undefined;

  constructor(options: VrrpEngineOptions) {
    this.options = options;
    this.config = options;
    const { clock, logger } = options;
    this.dispatchLog = new RateLimitedLog(logger, clock);
    this.notifier = new Notifier({
      clock,
      logger,
      ...(options.smtp === undefined ? {} : { smtp: options.smtp }),
      ...(options.routerId === undefined ? {} : { routerId: options.routerId }),
      ...(options.notifyTimeoutMs === undefined ? {} : { timeoutMs: options.notifyTimeoutMs }),
      ...(options.notifyRunner === undefined ? {} : { runner: options.notifyRunner }),
    });
    for (const def of options.scripts ?? []) this.scripts.set(def.name, this.scriptTracker(def));
    for (const def of options.trackFiles ?? [])
      this.files.set(def.name, new FileTracker(def, { logger }));
    const planned = this.planInstances(options.instances);
    for (const p of planned) this.addInstance(p);
    this.buildGroups(options.syncGroups ?? [], false);
  }

  instance(name: string): VrrpInstance {
    const found = this.instancesByName.get(name);
    if (!found) throw new LbctlError('VRRP_UNKNOWN_INSTANCE', `Cannot find VRRP instance ${name}`);
    return found;
  }

  get instances(): readonly VrrpInstance[] {
    return [...this.instancesByName.values()];
  }

  get syncGroups(): readonly SyncGroup[] {
    return this.groups;
  }

  /**
   * Every state change of every instance, including instances a reload adds
   * later (subscribe before `start` to see the first transitions).
   */
  onStateChange(listener: (change: StateChange) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * The data plane as a tracked object, unweighted as keepalived tracks an
   * interface: an instance is in FAULT while the data plane cannot forward
   * on its interface or on an interface of its VIPs — or on any interface,
   * when it forwards on none of those (the VIP's traffic then comes in
   * elsewhere). A master gives its VIPs up (priority 0 advert) instead of
   * attracting traffic it cannot forward.
   *
   * While the data plane is `starting` when the engine starts, the instances
   * are held in INIT (no adverts, no VIPs, no notify: keepalived's
   * `vrrp_startup_delay`), so none takes a VIP (not even the address owner)
   * before something forwards it; the first other health starts them, after
   * it is applied (a data plane found broken then starts them in FAULT).
   */
  setDataPlaneHealth(health: DataPlaneHealthView): void {
    const release = this.holdingInstances && health.starting !== true;
    this.dataPlaneHealth = health;
    for (const instance of this.instancesByName.values())
      instance.setContribution(DATA_PLANE_TRACKER, dataPlaneContribution(instance.options, health));
    if (release) this.startInstances();
  }

  /** True while the instances wait in INIT for the data plane to start. */
  private get holdingInstances(): boolean {
    return this.started && !this.instancesStarted;
  }

  /** Opens endpoints, starts trackers and instances (these once the data plane is no longer starting). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const route of this.routes.values()) this.openRoute(route);
    this.options.effects.prepareAnnouncements?.(
      this.instances.flatMap((i) => [...i.options.vips, ...i.options.excludedVips]),
    );
    for (const instance of this.instancesByName.values()) this.bindTrackers(instance, true);
    for (const tracker of this.scripts.values()) tracker.start();
    for (const tracker of this.files.values()) tracker.start();
    if (this.dataPlaneHealth?.starting !== true) this.startInstances();
  }

  /** Every instance leaves INIT, in configuration order (sync groups follow their first member). */
  private startInstances(): void {
    this.instancesStarted = true;
    for (const instance of this.instancesByName.values()) instance.start();
  }

  /** Stops instances (priority 0 from masters), trackers and endpoints. */
  async stop(): Promise<void> {
    for (const instance of this.instancesByName.values()) instance.stop();
    for (const held of this.held.values()) for (const undo of held.unbind.splice(0)) undo();
    for (const tracker of this.scripts.values()) tracker.close();
    for (const tracker of this.files.values()) tracker.close();
    for (const route of this.routes.values()) {
      route.endpoint?.close();
      route.endpoint = undefined;
    }
    this.dispatchLog.close();
    await this.notifier.settle();
  }

  /**
   * What a reload to `next` does, checked before anything changes (keepalived
   * 2.2.7's reload semantics, see docs/operations.md): instances are matched
   * by family, interface, VRID and source; an unchanged one is not touched
   * (state, timers, addresses); a changed one is reconfigured in place,
   * keeping its state; a removed one stops as at shutdown (priority 0 and
   * addresses released when MASTER); a new one starts as at startup. Sync
   * groups are rebuilt where their members or settings changed.
   */
  planReload(next: VrrpEngineConfig): VrrpReloadPlan {
    const problems: string[] = [];
    let planned: PlannedInstance[] = [];
    try {
      planned = this.planInstances(next.instances);
    } catch (err) {
      problems.push((err as Error).message);
    }
    const scriptNames = new Set((next.scripts ?? []).map((d) => d.name));
    const fileNames = new Set((next.trackFiles ?? []).map((d) => d.name));
    for (const p of planned) {
      for (const ref of p.resolved.trackScripts)
        if (!scriptNames.has(ref.name))
          problems.push(
            `VRRP instance ${p.resolved.name} tracks script ${ref.name}: no such vrrp_script`,
          );
      for (const ref of p.resolved.trackFiles)
        if (!fileNames.has(ref.name))
          problems.push(
            `VRRP instance ${p.resolved.name} tracks file ${ref.name}: no such track_file`,
          );
    }
    try {
      // Members can only be checked against instances that resolved.
      if (problems.length === 0)
        checkGroups(next.syncGroups ?? [], new Set(planned.map((p) => p.resolved.name)));
    } catch (err) {
      problems.push((err as Error).message);
    }
    const byIdentity = new Map([...this.held].map(([instance, h]) => [h.identity, instance]));
    const matched = new Map<PlannedInstance, VrrpInstance>();
    for (const p of planned) {
      const instance = byIdentity.get(p.identity);
      if (instance !== undefined) matched.set(p, instance);
    }
    const kept = new Set(matched.values());
    const removed = this.instances.filter((i) => !kept.has(i));
    const added = planned.filter((p) => !matched.has(p));
    const changedTrackers = new Set([
      ...changedNames(this.config.scripts ?? [], next.scripts ?? []).map((n) => `script:${n}`),
      ...changedNames(this.config.trackFiles ?? [], next.trackFiles ?? []).map((n) => `file:${n}`),
    ]);
    const changed = [...matched].filter(([p, instance]) => {
      const held = this.held.get(instance);
      return (
        !isDeepStrictEqual(held?.raw, p.raw) ||
        p.resolved.trackScripts.some((r) => changedTrackers.has(`script:${r.name}`)) ||
        p.resolved.trackFiles.some((r) => changedTrackers.has(`file:${r.name}`))
      );
    });
    const names = (list: readonly string[]) => (list.length === 0 ? '' : ` (${list.join(', ')})`);
    const summary =
      `${changed.length} instance${changed.length === 1 ? '' : 's'} changed${names(changed.map(([p]) => p.resolved.name))}, ` +
      `${added.length} added${names(added.map((p) => p.resolved.name))}, ` +
      `${removed.length} removed${names(removed.map((i) => i.name))}, ` +
      `${matched.size - changed.length} unchanged`;
    return {
      problems,
      summary,
      apply: () => {
        if (problems.length > 0) {
          throw new LbctlError('RELOAD_REFUSED', `Cannot reload VRRP: ${problems.join('; ')}`);
        }
        this.applyReload(next, planned, matched, new Set(changed.map(([p]) => p)), removed);
      },
    };
  }

  private applyReload(
    next: VrrpEngineConfig,
    planned: readonly PlannedInstance[],
    matched: ReadonlyMap<PlannedInstance, VrrpInstance>,
    changed: ReadonlySet<PlannedInstance>,
    removed: readonly VrrpInstance[],
  ): void {
    const { logger } = this.options;
    this.notifier.update({
      ...(next.smtp === undefined ? {} : { smtp: next.smtp }),
      ...(next.routerId === undefined ? {} : { routerId: next.routerId }),
    });
    // Trackers whose definition did not change keep running with their state.
    const retiredTrackers: { close(): void }[] = [];
    const freshTrackers: { start(): void }[] = [];
    const replaceTrackers = <
      D extends { name: string },
      T extends { definition: D; close(): void; start(): void },
    >(
      held: Map<string, T>,
      defs: readonly D[],
      create: (def: D) => T,
    ) => {
      const wanted = new Map(defs.map((d) => [d.name, d]));
      for (const [name, tracker] of held) {
        const def = wanted.get(name);
        if (def !== undefined && isDeepStrictEqual(def, tracker.definition)) continue;
        retiredTrackers.push(tracker);
        held.delete(name);
      }
      for (const def of defs) {
        if (held.has(def.name)) continue;
        const tracker = create(def);
        held.set(def.name, tracker);
        freshTrackers.push(tracker);
      }
    };
    replaceTrackers(this.scripts, next.scripts ?? [], (def) => this.scriptTracker(def));
    replaceTrackers(this.files, next.trackFiles ?? [], (def) => new FileTracker(def, { logger }));

    // Removed first: a VIP moving to another instance is released before it is added again.
    for (const instance of removed) {
      instance.sync = undefined;
      instance.remove();
      this.dropInstance(instance);
    }
    const fresh = new Map<PlannedInstance, VrrpInstance>();
    for (const p of planned) {
      if (matched.has(p)) continue;
      const instance = this.addInstance(p);
      fresh.set(p, instance);
      const route = this.held.get(instance)?.route;
      if (route !== undefined && route.endpoint === undefined) this.openRoute(route);
      else route?.endpoint?.prepare?.(p.source);
      this.options.effects.prepareAnnouncements?.([...p.resolved.vips, ...p.resolved.excludedVips]);
      this.bindTrackers(instance, true);
    }
    // Configuration order, under the new names (a matched instance may have been renamed).
    this.instancesByName = new Map(
      planned.map((p) => [p.resolved.name, (matched.get(p) ?? fresh.get(p))!]),
    );
    this.buildGroups(next.syncGroups ?? [], true);
    for (const [p, instance] of matched) {
      const held = this.held.get(instance);
      if (held === undefined || !changed.has(p)) continue;
      held.raw = p.raw;
      this.options.effects.prepareAnnouncements?.([...p.resolved.vips, ...p.resolved.excludedVips]);
      for (const undo of held.unbind.splice(0)) undo();
      instance.reconfigure(p.resolved, this.bindTrackers(instance, false, p.resolved));
    }
    this.config = next;
    for (const tracker of freshTrackers) tracker.start();
    // While held, new instances wait in INIT with the others.
    if (this.instancesStarted) for (const instance of fresh.values()) instance.start();
    for (const tracker of retiredTrackers) tracker.close();
  }

  /** Resolves instances and the endpoints they need; throws naming the first conflict. */
  private planInstances(instances: readonly VrrpInstanceOptions[]): PlannedInstance[] {
    const names = new Set<string>();
    const vrids = new Set<string>();
    return instances.map((raw) => {
      const resolved = resolveInstanceOptions(raw);
      if (names.has(resolved.name)) {
        throw new LbctlError(
          'VRRP_DUPLICATE_INSTANCE',
          `Cannot add VRRP instance ${resolved.name}: name already used`,
        );
      }
      names.add(resolved.name);
      const found =
        resolved.sourceIp ??
        this.options.transport.primaryAddress(resolved.interface, resolved.family);
      if (found === undefined) {
        throw new LbctlError(
          'VRRP_NO_SOURCE_ADDRESS',
          `Cannot start VRRP instance ${resolved.name}: ${resolved.interface} has no IPv${resolved.family} address`,
        );
      }
      const source = canonicalAddress(found);
      const spec: EndpointSpec = {
        family: resolved.family,
        interface: resolved.interface,
        ...(resolved.unicastPeers.length > 0 ? { unicastSource: source } : {}),
      };
      const routeKey = `${spec.family}|${spec.interface}|${spec.unicastSource ?? 'multicast'}`;
      const vridKey = `${routeKey}|${resolved.virtualRouterId}`;
      if (vrids.has(vridKey)) {
        throw new LbctlError(
          'VRRP_DUPLICATE_VRID',
          `Cannot add VRRP instance ${resolved.name}: VRID ${resolved.virtualRouterId} already used on ${resolved.interface}`,
        );
      }
      vrids.add(vridKey);
      return { raw, resolved, source, routeKey, spec, identity: `${vridKey}|${source}` };
    });
  }

  /** Creates an instance (not started) on its route. */
  private addInstance(p: PlannedInstance): VrrpInstance {
    const { clock, logger } = this.options;
    let route = this.routes.get(p.routeKey);
    if (route === undefined) {
      route = { key: p.routeKey, spec: p.spec, byVrid: new Map() };
      this.routes.set(p.routeKey, route);
    }
    const owner = route;
    const instance = new VrrpInstance(p.resolved, {
      clock,
      logger,
      effects: this.options.effects,
      notifier: this.notifier,
      sourceAddress: p.source,
      send: (packet) => owner.endpoint?.send(packet),
    });
    instance.onStateChange((change) => {
      for (const listener of this.stateListeners) listener(change);
    });
    route.byVrid.set(p.resolved.virtualRouterId, instance);
    this.instancesByName.set(p.resolved.name, instance);
    this.held.set(instance, {
      raw: p.raw,
      identity: p.identity,
      source: p.source,
      route,
      unbind: [],
    });
    return instance;
  }

  /** Forgets a stopped instance; closes its endpoint when no instance uses it any more. */
  private dropInstance(instance: VrrpInstance): void {
    const held = this.held.get(instance);
    if (held === undefined) return;
    for (const undo of held.unbind.splice(0)) undo();
    this.held.delete(instance);
    this.instancesByName.delete(instance.name);
    held.route.byVrid.delete(instance.options.virtualRouterId);
    if (held.route.byVrid.size === 0) {
      held.route.endpoint?.close();
      this.routes.delete(held.route.key);
    }
  }

  private openRoute(route: Route): void {
    route.endpoint = this.options.transport.open(route.spec, (packet) =>
      this.onPacket(route.byVrid, packet),
    );
    // Sockets are set up now: a takeover should cost a send, not a socket setup.
    for (const instance of route.byVrid.values()) {
      const source = this.held.get(instance)?.source;
      if (source !== undefined) route.endpoint.prepare?.(source);
    }
  }

  /**
   * (Re)builds sync groups. A group whose settings and members did not
   * change is kept as it is; a new or changed one takes its members' states
   * at a reload (see SyncGroup.adoptMemberStates).
   */
  private buildGroups(defs: readonly SyncGroupOptions[], atReload: boolean): void {
    checkGroups(defs, new Set(this.instancesByName.keys()));
    const old = new Map(this.groups.map((g) => [g.name, g]));
    const members = (def: SyncGroupOptions) => def.members.map((name) => this.instance(name));
    const kept = new Set(
      defs.flatMap((def) => {
        const existing = old.get(def.name);
        return existing?.sameAs(def, members(def)) ? [existing] : [];
      }),
    );
    for (const instance of this.instancesByName.values()) {
      if (instance.sync !== undefined && !kept.has(instance.sync as SyncGroup))
        instance.sync = undefined;
    }
    this.groups.length = 0;
    for (const def of defs) {
      const existing = old.get(def.name);
      if (existing !== undefined && kept.has(existing)) {
        this.groups.push(existing);
        continue;
      }
      const group = new SyncGroup(def, members(def), {
        logger: this.options.logger,
        notifier: this.notifier,
      });
      if (atReload) group.adoptMemberStates();
      this.groups.push(group);
    }
  }

  private scriptTracker(def: TrackScriptDefinition): ScriptTracker {
    return new ScriptTracker(def, { clock: this.options.clock, logger: this.options.logger });
  }

  private onPacket(byVrid: Map<number, VrrpInstance>, packet: ReceivedPacket): void {
    const reason: keyof DispatchCounters | undefined = invalidSource(packet.source)
      ? 'invalidSource'
      : packet.payload.length < 8
        ? 'tooShort'
        : undefined;
    const instance = reason === undefined ? byVrid.get(packet.payload[1]!) : undefined;
    if (instance === undefined) {
      const why = reason ?? 'unknownVrid';
      this.dispatch[why]++;
      // Other VRIDs are normal on a shared segment: counted, not logged.
      if (why !== 'unknownVrid')
        this.dispatchLog.info(
          why,
          {
            source: packet.source,
            interface: packet.interface,
            reason: why,
            length: packet.payload.length,
          },
          'advert dropped before reaching an instance',
        );
      return;
    }
    instance.receive(packet);
  }

  /**
   * Subscribes `instance` to its tracked objects (settings `o`, default its
   * own). With `applyNow` each current value is applied at once; otherwise
   * they are returned, for `reconfigure` to apply in one step.
   */
  private bindTrackers(
    instance: VrrpInstance,
    applyNow: boolean,
    o: ResolvedInstanceOptions = instance.options,
  ): Map<string, Contribution> {
    const initial = new Map<string, Contribution>();
    const unbind = this.held.get(instance)?.unbind ?? [];
    const set = (key: string, value: Contribution) => {
      if (applyNow) instance.setContribution(key, value);
      else initial.set(key, value);
    };
    for (const ref of o.trackScripts) {
      const tracker = this.scripts.get(ref.name);
      if (!tracker) {
        throw new LbctlError(
          'VRRP_UNKNOWN_SCRIPT',
          `Cannot track script ${ref.name} in ${o.name}: no such vrrp_script`,
        );
      }
      const weight = ref.weight ?? tracker.definition.weight ?? 0;
      const reverse = ref.reverse ?? tracker.definition.reverse ?? false;
      const key = `script:${ref.name}`;
      set(key, weightedContribution(tracker.isUp(), weight, reverse));
      unbind.push(
        tracker.onChange((up) =>
          instance.setContribution(key, weightedContribution(up, weight, reverse)),
        ),
      );
    }
    for (const ref of o.trackFiles) {
      const tracker = this.files.get(ref.name);
      if (!tracker) {
        throw new LbctlError(
          'VRRP_UNKNOWN_TRACK_FILE',
          `Cannot track file ${ref.name} in ${o.name}: no such track_file`,
        );
      }
      const weight = ref.weight ?? tracker.definition.weight ?? 1;
      const reverse = ref.reverse ?? tracker.definition.reverse ?? false;
      const key = `file:${ref.name}`;
      set(key, fileContribution(tracker.value(), weight, reverse));
      unbind.push(
        tracker.onChange((value) =>
          instance.setContribution(key, fileContribution(value, weight, reverse)),
        ),
      );
    }
    // keepalived tracks the instance's own interface unweighted (FAULT while it
    // is down or has no carrier) unless dont_track_primary; an explicit
    // track_interface entry for it decides instead.
    if (o.trackPrimary && !o.trackInterfaces.some((t) => t.interface === o.interface)) {
      const key = `interface:${o.interface}`;
      set(key, weightedContribution(this.options.links.isUp(o.interface), 0, false));
      unbind.push(
        this.options.links.watch(o.interface, (up) =>
          instance.setContribution(key, weightedContribution(up, 0, false)),
        ),
      );
    }
    // The data plane's last health (instances a reload adds or changes get it too).
    if (this.dataPlaneHealth !== undefined)
      set(DATA_PLANE_TRACKER, dataPlaneContribution(o, this.dataPlaneHealth));
    for (const track of o.trackInterfaces) {
      const weight = track.weight ?? 0;
      const reverse = track.reverse ?? false;
      const key = `interface:${track.interface}`;
      set(key, weightedContribution(this.options.links.isUp(track.interface), weight, reverse));
      unbind.push(
        this.options.links.watch(track.interface, (up) =>
          instance.setContribution(key, weightedContribution(up, weight, reverse)),
        ),
      );
    }
    return initial;
  }
}

/** FAULT while the data plane cannot forward where `o`'s traffic arrives (see setDataPlaneHealth); starting is no fault. */
function dataPlaneContribution(
  o: ResolvedInstanceOptions,
  health: DataPlaneHealthView,
): Contribution {
  if (health.starting === true) return NO_CONTRIBUTION;
  const broken = new Set(health.broken.map((b) => b.interface));
  const own = new Set([
    o.interface,
    ...o.vips.map((v) => v.dev),
    ...o.excludedVips.map((v) => v.dev),
  ]);
  const served = health.interfaces.some((i) => own.has(i));
  return { fault: served ? [...own].some((i) => broken.has(i)) : broken.size > 0, delta: 0 };
}

/** Names whose definition differs between `before` and `after` (changed, added or removed). */
function changedNames<D extends { name: string }>(
  before: readonly D[],
  after: readonly D[],
): string[] {
  const old = new Map(before.map((d) => [d.name, d]));
  const now = new Map(after.map((d) => [d.name, d]));
  const names = new Set([...old.keys(), ...now.keys()]);
  return [...names].filter((n) => !isDeepStrictEqual(old.get(n), now.get(n)));
}

/** Sync groups name existing instances, each in one group at most. */
function checkGroups(defs: readonly SyncGroupOptions[], instances: ReadonlySet<string>): void {
  const owner = new Map<string, string>();
  for (const group of defs) {
    for (const name of group.members) {
      if (!instances.has(name)) {
        throw new LbctlError(
          'VRRP_UNKNOWN_INSTANCE',
          `Cannot build sync group ${group.name}: no instance ${name}`,
        );
      }
      const other = owner.get(name);
      if (other !== undefined) {
        throw new LbctlError(
          'VRRP_INSTANCE_IN_TWO_GROUPS',
          `Cannot build sync group ${group.name}: ${name} is already in ${other}`,
        );
      }
      owner.set(name, group.name);
    }
  }
}
