import { isDeepStrictEqual } from 'node:util';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import { compareAddresses } from '../net/address.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { Clock, Timer } from '../time/clock.js';
import { countTransition, emptyCounters, type VrrpCounters } from './counters.js';
import { GarpScheduler } from './garp.js';
import {
  type NetworkEffects,
  type OutgoingPacket,
  type ReceivedPacket,
  type VirtualAddress,
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  VRRP_TTL,
} from './io.js';
import type { Notifier } from './notify.js';
import type { ResolvedInstanceOptions } from './options.js';
import { AUTH_TYPE_CODE, encodeAdvert, VRRP_TYPE_ADVERTISEMENT } from './packet.js';
import { type Contribution, effectivePriority } from './priority.js';
import { checkAdvert, type ReceiveExpectations } from './receive-check.js';
import {
  type StateChange,
  type TransitionCause,
  transitionAllowed,
  type VrrpState,
} from './state.js';
import { masterDownIntervalMs, skewTimeMs } from './timing.js';

/** How a sync group steers its members (see sync-group.ts). */
export interface SyncCoordinator {
  readonly name: string;
  memberChanged(member: VrrpInstance, change: StateChange): void;
  /** A member's master-down timer expired: may the group go master now? */
  mayBecomeMaster(member: VrrpInstance): boolean;
  /** A member's own trackers are fine again: may it leave FAULT now? */
  mayLeaveFault(member: VrrpInstance): boolean;
}

export interface InstanceDependencies {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Sends through the endpoint the engine opened for this instance. */
  readonly send: (packet: OutgoingPacket) => void;
  /** Our primary address: packet source and election tie-breaker. */
  readonly sourceAddress: string;
  readonly effects: NetworkEffects;
  readonly notifier?: Notifier;
}

/**
 * One VRRP instance: the RFC 3768 / RFC 5798 state machine with keepalived's
 * behaviour where the RFCs leave room. Time and I/O are injected.
 */
export class VrrpInstance {
  private opts: ResolvedInstanceOptions;
  readonly counters: VrrpCounters = emptyCounters();
  private current: VrrpState = 'INIT';
  private priorityNow: number;
  private ownFault = false;
  private readonly contributions = new Map<string, Contribution>();
  private masterAdvertIntMs: number;
  private masterAddressSeen: string | undefined;
  private downTimer: Timer | undefined;
  private downDeadline: number | undefined;
  private advertTimer: Timer | undefined;
  private preemptDeadline: number | undefined;
  private wantsMasterFlag = false;
  private legacyUnicastChecksum = false;
  /** Dropped adverts are logged once a minute per reason (keepalived logs a VIP mismatch once per master). */
  private dropLog: RateLimitedLog;
  private readonly listeners = new Set<(change: StateChange) => void>();
  private garp: GarpScheduler;
  private readonly deps: InstanceDependencies;
  private expectations: ReceiveExpectations;
  private log: Logger;
  sync: SyncCoordinator | undefined;

  constructor(options: ResolvedInstanceOptions, deps: InstanceDependencies) {
    this.opts = options;
    this.deps = deps;
    this.log = deps.logger.child({ instance: options.name });
    this.dropLog = new RateLimitedLog(this.log, deps.clock);
    this.priorityNow = options.priority;
    this.masterAdvertIntMs = options.advertIntMs;
    this.garp = new GarpScheduler(deps.clock, options.garp, () => this.announceAddresses());
    this.expectations = expectationsOf(options);
    for (const warning of options.warnings) this.log.warn(warning);
  }

  /** The settings in force (a reload may replace them, see `reconfigure`). */
  get options(): ResolvedInstanceOptions {
    return this.opts;
  }

  /** Addresses held while MASTER: the advertised ones, then virtual_ipaddress_excluded. */
  private get managedAddresses(): readonly VirtualAddress[] {
    return [...this.options.vips, ...this.options.excludedVips];
  }

  get name(): string {
    return this.options.name;
  }

  get state(): VrrpState {
    return this.current;
  }

  /** Base priority adjusted by trackers (what adverts carry). */
  get priority(): number {
    return this.priorityNow;
  }

  /** The interval a backup times the master with (v3 adopts the master's). */
  get masterAdvertIntervalMs(): number {
    return this.masterAdvertIntMs;
  }

  get masterAddress(): string | undefined {
    return this.masterAddressSeen;
  }

  /** When the master-down timer fires (clock time), if it runs. */
  get masterDownDeadline(): number | undefined {
    return this.downDeadline;
  }

  /** True while our own trackers hold us in FAULT (not counting the sync group). */
  get hasOwnFault(): boolean {
    return this.ownFault;
  }

  /** True when our master-down timer expired and we wait for our sync group. */
  get wantsMaster(): boolean {
    return this.wantsMasterFlag;
  }

  onStateChange(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Leaves INIT: FAULT if a tracker is down, MASTER if address owner, else BACKUP. */
  start(): void {
    if (this.current !== 'INIT') return;
    if (this.ownFault) {
      this.transition('INIT', 'FAULT', 'tracked object down at startup', 'trackDown');
    } else if (this.startsAsMaster()) {
      this.transition('INIT', 'MASTER', 'address owner (priority 255) starting', 'addressOwner');
    } else {
      this.transition('INIT', 'BACKUP', 'startup', 'startup');
    }
  }

  /** Shutdown: a master sends priority 0 and releases its addresses. */
  stop(): void {
    if (this.current === 'STOP') return;
    this.transition(this.current, 'STOP', 'shutdown', 'shutdown');
    this.dropLog.close();
  }

  /**
   * Sets what one tracked object contributes (key: e.g. `script:chk_nginx`)
   * and re-evaluates priority and FAULT.
   */
  setContribution(key: string, contribution: Contribution): void {
    this.contributions.set(key, contribution);
    this.evaluateContributions(`tracked ${key} down`, `tracked ${key} up`);
  }

  /**
   * A reload changed this instance's settings (same interface, VRID, family
   * and source: otherwise it is another instance). Applied in place, as
   * keepalived 2.2.7 does, keeping the state: a MASTER removes and adds only
   * the addresses and routes that differ (announcing the added ones), and
   * sends an advert at once with its new priority so the election follows
   * from there; a BACKUP restarts its master-down timer when its priority or
   * interval changed. `contributions` are the tracked objects' values under
   * the new settings: they may put the instance in FAULT or take it out.
   */
  reconfigure(
    next: ResolvedInstanceOptions,
    contributions: ReadonlyMap<string, Contribution>,
  ): void {
    if (this.current === 'STOP') return;
    const old = this.opts;
    this.opts = next;
    if (next.name !== old.name) {
      this.dropLog.close();
      this.log = this.deps.logger.child({ instance: next.name });
      this.dropLog = new RateLimitedLog(this.log, this.deps.clock);
    }
    for (const warning of next.warnings) this.log.warn(warning);
    this.expectations = expectationsOf(next);
    const advertIntChanged = next.advertIntMs !== old.advertIntMs;
    // keepalived starts the reloaded instance from the configured interval (v3 adopts the master's again).
    if (advertIntChanged) this.masterAdvertIntMs = next.advertIntMs;
    if (!isDeepStrictEqual(next.garp, old.garp)) {
      this.garp.cancel();
      this.garp = new GarpScheduler(this.deps.clock, next.garp, () => this.announceAddresses());
    }
    const priorityBefore = this.priorityNow;
    this.contributions.clear();
    for (const [key, value] of contributions) this.contributions.set(key, value);
    this.log.info({ priority: next.priority }, 'settings changed by reload');
    const stateBefore = this.current;
    // First, so that leaving MASTER below releases what is really held.
    if (stateBefore === 'MASTER') this.applyAddressDiff(old);
    this.evaluateContributions(
      'tracked object down after reload',
      'tracked objects up after reload',
    );
    if (this.current !== stateBefore) return; // entering FAULT/BACKUP/MASTER did the rest
    if (this.current === 'MASTER') {
      if (advertIntChanged) {
        this.advertTimer?.cancel();
        this.scheduleAdvert();
      }
      this.sendAdvert(this.priorityNow);
    } else if (
      this.current === 'BACKUP' &&
      (advertIntChanged || this.priorityNow !== priorityBefore)
    ) {
      this.armDownTimer(
        masterDownIntervalMs(this.opts.version, this.priorityNow, this.masterAdvertIntMs),
      );
    }
  }

  /** A reload removed this instance: as at shutdown (priority 0 from a master, addresses released). */
  remove(): void {
    if (this.current === 'STOP') return;
    this.transition(this.current, 'STOP', 'removed by reload', 'shutdown');
    this.dropLog.close();
  }

  /** Recomputes priority and own FAULT from the tracked objects; enters or leaves FAULT. */
  private evaluateContributions(downReason: string, upReason: string): void {
    const { priority, fault } = effectivePriority(this.options.priority, [
      ...this.contributions.values(),
    ]);
    if (priority !== this.priorityNow) {
      this.log.info({ from: this.priorityNow, to: priority }, 'effective priority changed');
      this.priorityNow = priority;
    }
    if (fault === this.ownFault) return;
    this.ownFault = fault;
    if (this.current === 'INIT' || this.current === 'STOP') return;
    if (fault) {
      if (this.current !== 'FAULT') this.transition(this.current, 'FAULT', downReason, 'trackDown');
    } else if (this.current === 'FAULT') {
      if (this.sync && !this.sync.mayLeaveFault(this)) return;
      this.leaveFault(upReason);
    }
  }

  /** MASTER across a reload: release what the old settings held and the new do not, add the rest. */
  private applyAddressDiff(old: ResolvedInstanceOptions): void {
    const addressesBefore = [...old.vips, ...old.excludedVips];
    const addressesNow = this.managedAddresses;
    const missing = <T>(from: readonly T[], among: readonly T[]) =>
      from.filter((item) => !among.some((other) => isDeepStrictEqual(item, other)));
    const removedAddresses = missing(addressesBefore, addressesNow);
    const addedAddresses = missing(addressesNow, addressesBefore);
    const removedRoutes = missing(old.virtualRoutes, this.opts.virtualRoutes);
    const addedRoutes = missing(this.opts.virtualRoutes, old.virtualRoutes);
    if (
      removedAddresses.length +
        addedAddresses.length +
        removedRoutes.length +
        addedRoutes.length ===
      0
    )
      return;
    this.log.info(
      {
        added: addedAddresses.map((v) => v.address),
        removed: removedAddresses.map((v) => v.address),
      },
      'virtual addresses changed by reload',
    );
    const effects = this.deps.effects;
    const applied = sequence(
      [
        ...removedRoutes.map((route) => () => effects.removeRoute(route)),
        ...removedAddresses.map((vip) => () => effects.removeAddress(vip)),
        ...addedAddresses.map((vip) => () => effects.addAddress(vip)),
        ...addedRoutes.map((route) => () => effects.addRoute(route)),
      ],
      (err) => this.log.error({ err }, 'cannot change virtual address or route'),
    );
    const announce = () => {
      if (this.current === 'MASTER') this.announce(addedAddresses);
    };
    if (applied) void applied.then(announce);
    else announce();
  }

  /** Handles one packet the engine dispatched to this VRID. */
  receive(packet: ReceivedPacket): void {
    if (this.current !== 'BACKUP' && this.current !== 'MASTER') return;
    if (packet.source === this.deps.sourceAddress) return;
    const skipAddresses = this.options.skipCheckAdvAddr && packet.source === this.masterAddressSeen;
    const result = checkAdvert(this.expectations, packet, !skipAddresses);
    if (!result.ok) {
      this.counters.dropped[result.reason]++;
      const fields = { source: packet.source, reason: result.reason, detail: result.detail };
      if (result.reason === 'addressListMismatch')
        this.dropLog.warn(result.reason, fields, 'advert address list mismatch');
      else this.dropLog.info(result.reason, fields, 'advert dropped');
      return;
    }
    this.counters.advertsReceived++;
    const advert = result.advert;
    if (advert.priority === 0) this.counters.priorityZeroReceived++;
    if (result.oldUnicastChecksum && !this.legacyUnicastChecksum) {
      this.legacyUnicastChecksum = true;
      this.log.info(
        { source: packet.source },
        'peer uses the old unicast v3 checksum: following it',
      );
    }
    if (this.current === 'BACKUP')
      this.backupReceived(packet.source, advert.priority, advert.advertIntervalMs);
    else this.masterReceived(packet.source, advert.priority, advert.advertIntervalMs);
  }

  // --- sync group entry points -------------------------------------------

  /** Moves this member to MASTER because its group decided so. */
  syncToMaster(reason: string): void {
    if (this.current === 'BACKUP' || this.current === 'FAULT')
      this.transition(this.current, 'MASTER', reason, 'syncGroup');
  }

  syncToBackup(reason: string): void {
    if (this.current === 'MASTER' || this.current === 'FAULT') {
      this.masterAdvertIntMs = this.options.advertIntMs;
      this.transition(this.current, 'BACKUP', reason, 'syncGroup');
    }
  }

  syncToFault(reason: string): void {
    if (this.current === 'BACKUP' || this.current === 'MASTER')
      this.transition(this.current, 'FAULT', reason, 'syncGroup');
  }

  // --- the state machine ---------------------------------------------------

  private startsAsMaster(): boolean {
    // keepalived 2.x: only the address owner skips the election; `state MASTER`
    // below 255 starts as BACKUP and waits the master-down interval.
    return this.options.priority === 255 && this.options.initialState === 'MASTER';
  }

  private leaveFault(reason: string): void {
    if (this.startsAsMaster()) {
      this.transition('FAULT', 'MASTER', reason, 'trackUp');
    } else {
      this.masterAdvertIntMs = this.options.advertIntMs;
      this.transition('FAULT', 'BACKUP', reason, 'trackUp');
    }
  }

  /** The one place state changes: checks, logs, runs entry actions, tells observers. */
  private transition(from: VrrpState, to: VrrpState, reason: string, cause: TransitionCause): void {
    if (this.current !== from || !transitionAllowed(from, to)) {
      throw new LbctlError(
        'VRRP_BAD_TRANSITION',
        `Cannot move VRRP instance ${this.name} from ${from} to ${to}: it is ${this.current}`,
      );
    }
    this.current = to;
    this.log.info({ from, to, reason, priority: this.priorityNow }, `entering ${to} state`);
    if (from === 'MASTER')
      this.leaveMaster(to === 'BACKUP' ? this.priorityNow : 0, to !== 'BACKUP');
    this.cancelDownTimer();
    switch (to) {
      case 'BACKUP':
        this.wantsMasterFlag = false;
        this.armDownTimer(
          masterDownIntervalMs(this.options.version, this.priorityNow, this.masterAdvertIntMs),
        );
        break;
      case 'MASTER':
        this.enterMaster();
        break;
      case 'FAULT':
      case 'STOP':
        this.wantsMasterFlag = false;
        break;
      case 'INIT':
        break;
    }
    const change: StateChange = {
      instance: this.name,
      from,
      to,
      reason,
      cause,
      priority: this.priorityNow,
    };
    countTransition(this.counters, change);
    if (to !== 'INIT') {
      void this.deps.notifier?.instanceChanged(
        this.name,
        to,
        this.priorityNow,
        this.options.notify,
      );
    }
    for (const listener of this.listeners) listener(change);
    this.sync?.memberChanged(this, change);
  }

  private enterMaster(): void {
    this.counters.becameMaster++;
    this.preemptDeadline = undefined;
    this.masterAddressSeen = this.deps.sourceAddress;
    this.sendAdvert(this.priorityNow);
    this.scheduleAdvert();
    const effects = this.deps.effects;
    const applied = sequence(
      [
        ...this.managedAddresses.map((vip) => () => effects.addAddress(vip)),
        ...this.options.virtualRoutes.map((route) => () => effects.addRoute(route)),
      ],
      (err) => this.log.error({ err }, 'cannot add virtual address or route'),
    );
    const announce = () => {
      if (this.current === 'MASTER') this.garp.becameMaster();
    };
    if (applied) void applied.then(announce);
    else announce();
  }

  /** Leaving MASTER: stop adverts (a last one with `finalPriority` when asked) and release addresses. */
  private leaveMaster(finalPriority: number, sendFinal: boolean): void {
    this.counters.releasedMaster++;
    this.advertTimer?.cancel();
    this.advertTimer = undefined;
    this.garp.cancel();
    if (sendFinal) this.sendAdvert(finalPriority);
    const effects = this.deps.effects;
    void sequence(
      [
        ...this.options.virtualRoutes.map((route) => () => effects.removeRoute(route)),
        ...this.managedAddresses.map((vip) => () => effects.removeAddress(vip)),
      ],
      (err) => this.log.error({ err }, 'cannot remove virtual address or route'),
    );
  }

  private backupReceived(source: string, priority: number, advertIntervalMs: number): void {
    const version = this.options.version;
    if (priority === 0) {
      // The master is leaving: take over after Skew_Time instead of the full interval.
      this.armDownTimer(skewTimeMs(version, this.priorityNow, this.masterAdvertIntMs));
      return;
    }
    const lower = priority < this.priorityNow;
    const now = this.deps.clock.now();
    const delaying =
      this.options.preemptDelayMs > 0 &&
      (this.preemptDeadline === undefined || now < this.preemptDeadline);
    if (this.options.nopreempt || !lower || delaying) {
      if (this.options.preemptDelayMs > 0) {
        if (!lower) this.preemptDeadline = undefined;
        else this.preemptDeadline ??= now + this.options.preemptDelayMs;
      }
      if (version === 3 && advertIntervalMs !== this.masterAdvertIntMs && advertIntervalMs > 0) {
        this.log.info(
          { from: this.masterAdvertIntMs, to: advertIntervalMs },
          'adopting master advert interval',
        );
        this.masterAdvertIntMs = advertIntervalMs;
      }
      this.masterAddressSeen = source;
      this.wantsMasterFlag = false;
      this.armDownTimer(masterDownIntervalMs(version, this.priorityNow, this.masterAdvertIntMs));
    }
    // Otherwise a lower priority master is ignored, so the down timer runs out and we preempt.
  }

  private masterReceived(source: string, priority: number, advertIntervalMs: number): void {
    if (priority === 0) {
      // Another router gave up mastership: assert ours at once.
      this.sendAdvert(this.priorityNow);
      return;
    }
    const ours = this.priorityNow;
    const weWin =
      priority < ours ||
      (priority === ours && compareAddresses(this.deps.sourceAddress, source) > 0);
    if (weWin) {
      if (!this.options.lowerPrioNoAdvert) this.sendAdvert(ours);
      this.garp.heardLowerPriority();
      return;
    }
    if (this.options.higherPrioSendAdvert) this.sendAdvert(ours);
    this.masterAdvertIntMs =
      this.options.version === 3 && advertIntervalMs > 0
        ? advertIntervalMs
        : this.options.advertIntMs;
    this.masterAddressSeen = source;
    this.transition(
      'MASTER',
      'BACKUP',
      `higher priority advert (${priority}) from ${source}`,
      'higherPriority',
    );
  }

  private onDownTimer(): void {
    this.downTimer = undefined;
    this.downDeadline = undefined;
    if (this.current !== 'BACKUP') return;
    this.wantsMasterFlag = true;
    if (this.sync && !this.sync.mayBecomeMaster(this)) {
      this.log.info('master down, waiting for the rest of the sync group');
      return;
    }
    this.transition('BACKUP', 'MASTER', 'master down timer expired', 'masterDown');
  }

  private armDownTimer(delayMs: number): void {
    this.cancelDownTimer();
    this.downDeadline = this.deps.clock.now() + delayMs;
    this.downTimer = this.deps.clock.setTimer(delayMs, () => this.onDownTimer());
  }

  private cancelDownTimer(): void {
    this.downTimer?.cancel();
    this.downTimer = undefined;
    this.downDeadline = undefined;
  }

  private scheduleAdvert(): void {
    this.advertTimer = this.deps.clock.setTimer(this.options.advertIntMs, () => {
      if (this.current !== 'MASTER') return;
      this.sendAdvert(this.priorityNow);
      this.scheduleAdvert();
    });
  }

  private sendAdvert(priority: number): void {
    const o = this.options;
    const advert = {
      version: o.version,
      type: VRRP_TYPE_ADVERTISEMENT,
      vrid: o.virtualRouterId,
      priority,
      authType: o.version === 2 ? AUTH_TYPE_CODE[o.authType] : 0,
      advertIntervalMs: o.advertIntMs,
      addresses: o.vips.map((v) => v.address),
      ...(o.authData === undefined ? {} : { authData: o.authData }),
    };
    const multicastGroup = o.family === 4 ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6;
    const destinations = o.unicastPeers.length > 0 ? o.unicastPeers : [multicastGroup];
    for (const destination of destinations) {
      const checksumDestination =
        this.legacyUnicastChecksum && o.family === 4 ? VRRP_MULTICAST_IPV4 : destination;
      const payload = encodeAdvert(advert, {
        family: o.family,
        source: this.deps.sourceAddress,
        destination: checksumDestination,
        v3ChecksumAsV2: o.v3ChecksumAsV2,
      });
      this.deps.send({
        source: this.deps.sourceAddress,
        destination,
        ttlOrHopLimit: VRRP_TTL,
        payload,
        interface: o.interface,
      });
    }
    this.counters.advertsSent++;
    if (priority === 0) this.counters.priorityZeroSent++;
  }

  private announceAddresses(): void {
    this.announce(this.managedAddresses);
  }

  private announce(addresses: readonly VirtualAddress[]): void {
    for (const vip of addresses) {
      // Excluded addresses may be of the other family: announce each by its own.
      if (!vip.address.includes(':')) this.deps.effects.sendGratuitousArp(vip);
      else this.deps.effects.sendUnsolicitedNeighbourAdvert(vip);
    }
  }
}

function expectationsOf(options: ResolvedInstanceOptions): ReceiveExpectations {
  return {
    family: options.family,
    version: options.version,
    authType: options.authType,
    ...(options.authData === undefined ? {} : { authData: options.authData }),
    advertIntervalMs: options.advertIntMs,
    vips: options.vips.map((v) => v.address),
    unicastPeers: options.unicastPeers,
    checkUnicastSource: options.checkUnicastSource,
    v3ChecksumAsV2: options.v3ChecksumAsV2,
  };
}

/**
 * Runs steps in order; synchronous steps stay synchronous (so fake-clock
 * tests see effects at once), a promise makes the rest wait for it.
 * Failures are reported and do not stop later steps.
 */
function sequence(
  steps: readonly (() => void | Promise<void>)[],
  onError: (err: unknown) => void,
): Promise<void> | undefined {
  for (let i = 0; i < steps.length; i++) {
    let result: void | Promise<void>;
    try {
      result = steps[i]!();
    } catch (err) {
      onError(err);
      continue;
    }
    if (result instanceof Promise) {
      const rest = steps.slice(i + 1);
      return result.catch(onError).then(() => sequence(rest, onError));
    }
  }
  return undefined;
}
