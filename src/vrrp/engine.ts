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
  VirtualAddress,
  VrrpEndpoint,
  VrrpTransport,
} from './io.js';
import { type CommandRunner, Notifier } from './notify.js';
import { resolveInstanceOptions, type VrrpInstanceOptions } from './options.js';
import { fileContribution, weightedContribution } from './priority.js';
import type { SmtpSettings } from './smtp.js';
import { SyncGroup, type SyncGroupOptions } from './sync-group.js';
import { FileTracker, type TrackFileDefinition } from './trackers/file-tracker.js';
import { ScriptTracker, type TrackScriptDefinition } from './trackers/script-tracker.js';

export interface VrrpEngineOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly transport: VrrpTransport;
  readonly effects: NetworkEffects;
  readonly links: LinkStateSource;
  readonly instances: readonly VrrpInstanceOptions[];
  readonly syncGroups?: readonly SyncGroupOptions[];
  /** keepalived `vrrp_script` blocks, referenced by name from instances. */
  readonly scripts?: readonly TrackScriptDefinition[];
  /** keepalived `track_file` blocks, referenced by name from instances. */
  readonly trackFiles?: readonly TrackFileDefinition[];
  readonly smtp?: SmtpSettings;
  readonly routerId?: string;
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

/**
 * Owns the VRRP instances of one daemon: opens one endpoint per
 * (family, interface, unicast source), dispatches received packets by VRID,
 * feeds trackers into priorities and ties sync groups together.
 */
export class VrrpEngine {
  readonly notifier: Notifier;
  readonly dispatch: DispatchCounters = { tooShort: 0, unknownVrid: 0, invalidSource: 0 };
  private readonly dispatchLog: RateLimitedLog;
  private readonly instancesByName = new Map<string, VrrpInstance>();
  private readonly groups: SyncGroup[] = [];
  private readonly scripts = new Map<string, ScriptTracker>();
  private readonly files = new Map<string, FileTracker>();
  private readonly endpoints: VrrpEndpoint[] = [];
  private readonly cleanups: (() => void)[] = [];
  private readonly options: VrrpEngineOptions;
  private started = false;

  constructor(options: VrrpEngineOptions) {
    this.options = options;
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
    for (const def of options.scripts ?? [])
      this.scripts.set(def.name, new ScriptTracker(def, { clock, logger }));
    for (const def of options.trackFiles ?? [])
      this.files.set(def.name, new FileTracker(def, { logger }));

    const routes = new Map<string, { spec: EndpointSpec; byVrid: Map<number, VrrpInstance> }>();
    for (const raw of options.instances) {
      const resolved = resolveInstanceOptions(raw);
      if (this.instancesByName.has(resolved.name)) {
        throw new LbctlError(
          'VRRP_DUPLICATE_INSTANCE',
          `Cannot add VRRP instance ${resolved.name}: name already used`,
        );
      }
      const source =
        resolved.sourceIp ?? options.transport.primaryAddress(resolved.interface, resolved.family);
      if (source === undefined) {
        throw new LbctlError(
          'VRRP_NO_SOURCE_ADDRESS',
          `Cannot start VRRP instance ${resolved.name}: ${resolved.interface} has no IPv${resolved.family} address`,
        );
      }
      const spec: EndpointSpec = {
        family: resolved.family,
        interface: resolved.interface,
        ...(resolved.unicastPeers.length > 0 ? { unicastSource: canonicalAddress(source) } : {}),
      };
      const key = `${spec.family}|${spec.interface}|${spec.unicastSource ?? 'multicast'}`;
      let route = routes.get(key);
      if (!route) {
        route = { spec, byVrid: new Map() };
        routes.set(key, route);
      }
      if (route.byVrid.has(resolved.virtualRouterId)) {
        throw new LbctlError(
          'VRRP_DUPLICATE_VRID',
          `Cannot add VRRP instance ${resolved.name}: VRID ${resolved.virtualRouterId} already used on ${resolved.interface}`,
        );
      }
      const endpointRef: { endpoint?: VrrpEndpoint | undefined } = {};
      const instance = new VrrpInstance(resolved, {
        clock,
        logger,
        effects: options.effects,
        notifier: this.notifier,
        sourceAddress: canonicalAddress(source),
        send: (packet) => endpointRef.endpoint?.send(packet),
      });
      route.byVrid.set(resolved.virtualRouterId, instance);
      this.instancesByName.set(resolved.name, instance);
      this.pendingEndpoints.push({ route, endpointRef, source: canonicalAddress(source) });
      this.announcedVips.push(...resolved.vips, ...resolved.excludedVips);
    }
    this.routeTable = routes;

    for (const group of options.syncGroups ?? []) {
      const members = group.members.map((name) => {
        const member = this.instancesByName.get(name);
        if (!member) {
          throw new LbctlError(
            'VRRP_UNKNOWN_INSTANCE',
            `Cannot build sync group ${group.name}: no instance ${name}`,
          );
        }
        if (member.sync) {
          throw new LbctlError(
            'VRRP_INSTANCE_IN_TWO_GROUPS',
            `Cannot build sync group ${group.name}: ${name} is already in ${member.sync.name}`,
          );
        }
        return member;
      });
      this.groups.push(new SyncGroup(group, members, { logger, notifier: this.notifier }));
    }
  }

  private readonly pendingEndpoints: {
    route: { spec: EndpointSpec; byVrid: Map<number, VrrpInstance> };
    endpointRef: { endpoint?: VrrpEndpoint | undefined };
    source: string;
  }[] = [];
  private readonly announcedVips: VirtualAddress[] = [];
  private readonly routeTable: Map<
    string,
    { spec: EndpointSpec; byVrid: Map<number, VrrpInstance> }
  >;

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

  /** Opens endpoints, starts trackers and instances. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const opened = new Map<object, VrrpEndpoint>();
    for (const route of this.routeTable.values()) {
      const endpoint = this.options.transport.open(route.spec, (packet) =>
        this.onPacket(route.byVrid, packet),
      );
      opened.set(route, endpoint);
      this.endpoints.push(endpoint);
    }
    for (const { route, endpointRef, source } of this.pendingEndpoints) {
      endpointRef.endpoint = opened.get(route);
      // Sockets are set up now: a takeover should cost a send, not a socket setup.
      endpointRef.endpoint?.prepare?.(source);
    }
    this.options.effects.prepareAnnouncements?.(this.announcedVips);
    for (const instance of this.instancesByName.values()) this.bindTrackers(instance);
    for (const tracker of this.scripts.values()) tracker.start();
    for (const tracker of this.files.values()) tracker.start();
    for (const instance of this.instancesByName.values()) instance.start();
  }

  /** Stops instances (priority 0 from masters), trackers and endpoints. */
  async stop(): Promise<void> {
    for (const instance of this.instancesByName.values()) instance.stop();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const tracker of this.scripts.values()) tracker.close();
    for (const tracker of this.files.values()) tracker.close();
    for (const endpoint of this.endpoints.splice(0)) endpoint.close();
    this.dispatchLog.close();
    await this.notifier.settle();
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

  private bindTrackers(instance: VrrpInstance): void {
    const o = instance.options;
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
      const apply = (up: boolean) =>
        instance.setContribution(`script:${ref.name}`, weightedContribution(up, weight, reverse));
      apply(tracker.isUp());
      this.cleanups.push(tracker.onChange(apply));
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
      const apply = (value: number) =>
        instance.setContribution(`file:${ref.name}`, fileContribution(value, weight, reverse));
      apply(tracker.value());
      this.cleanups.push(tracker.onChange(apply));
    }
    for (const track of o.trackInterfaces) {
      const weight = track.weight ?? 0;
      const reverse = track.reverse ?? false;
      const apply = (up: boolean) =>
        instance.setContribution(
          `interface:${track.interface}`,
          weightedContribution(up, weight, reverse),
        );
      apply(this.options.links.isUp(track.interface));
      this.cleanups.push(this.options.links.watch(track.interface, apply));
    }
  }
}
