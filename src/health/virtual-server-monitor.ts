import { isDeepStrictEqual } from 'node:util';
import type { CheckState } from '../checkers/check-state.js';
import { type CreateCheckerDeps, createChecker } from '../checkers/create-checker.js';
import type { CheckScheduler, ScheduledCheck } from '../checkers/scheduler.js';
import type { Logger } from '../log.js';
import type { DesiredServiceState } from './desired-state.js';
import type { VirtualServerHealthOptions } from './options.js';
import type { ScriptRunner } from './script-runner.js';
import { type RealHealth, VirtualServerHealth } from './virtual-server-health.js';

export interface VirtualServerMonitorDeps extends CreateCheckerDeps {
  readonly scheduler: CheckScheduler;
  readonly scripts: ScriptRunner;
  readonly logger?: Logger;
  /**
   * The monitor this one replaces (a reload changed its virtual server): a
   * check with the same id and the same settings starts from the old
   * check's state, so an unchanged real does not flap.
   */
  readonly previous?: VirtualServerMonitor;
}

/**
 * Health of one virtual server end to end: builds its checkers, runs them on
 * the shared scheduler and keeps a VirtualServerHealth up to date. Check ids
 * are "<service>/<real>/<index>".
 */
export class VirtualServerMonitor {
  readonly health: VirtualServerHealth;
  private readonly checks: ScheduledCheck[] = [];
  /** What each check was built from, to tell unchanged checks on reload. */
  private readonly settings = new Map<string, unknown>();
  private unsubscribe: (() => void) | undefined;
  private suspended = false;

  constructor(
    private readonly options: VirtualServerHealthOptions,
    deps: VirtualServerMonitorDeps,
  ) {
    this.health = new VirtualServerHealth(options, {
      scripts: deps.scripts,
      ...(deps.logger !== undefined ? { logger: deps.logger } : {}),
    });
    // Build every checker before scheduling any, so a bad option leaves nothing behind.
    const built = options.reals.flatMap((real) => {
      const key = VirtualServerHealth.realKey(real.address, real.port);
      return real.checkers.map((config, index) => ({
        key,
        config,
        real: realTiming(real),
        id: `${options.name}/${key}/${index}`,
        ...createChecker(config, real, [real, options], deps),
      }));
    });
    const previousQuorumUp = deps.previous?.current().quorumUp;
    const carried =
      deps.previous?.carryOver() ?? new Map<string, { settings: unknown; state: CheckState }>();
    const ids = new Set(built.map((b) => b.id));
    this.unsubscribe = deps.scheduler.onEvent((event) => {
      if (ids.has(event.id)) this.health.applyCheckEvent(event);
    });
    for (const b of built) {
      const settings = { config: b.config, real: b.real, policy: b.policy };
      this.settings.set(b.id, settings);
      const old = carried.get(b.id);
      const state =
        old !== undefined && isDeepStrictEqual(old.settings, settings) ? old.state : undefined;
      this.health.registerCheck(
        b.key,
        b.id,
        state === undefined
          ? { up: !b.policy.alpha }
          : { up: state.up, ...(state.weight !== undefined ? { weight: state.weight } : {}) },
      );
      this.checks.push(
        deps.scheduler.add({
          id: b.id,
          real: b.key,
          checker: b.checker,
          ...b.policy,
          ...(state !== undefined ? { initialState: state } : {}),
        }),
      );
    }
    this.health.start(previousQuorumUp);
  }

  /** How logs, scripts and metrics name the service, e.g. "10.0.0.3:80". */
  get name(): string {
    return this.options.name;
  }

  current(): DesiredServiceState {
    return this.health.current();
  }

  /** Each real's liveness and check verdicts, for metrics. */
  realHealth(): RealHealth[] {
    return this.health.realHealth();
  }

  onChange(listener: (state: DesiredServiceState) => void): () => void {
    return this.health.onChange(listener);
  }

  /** ha_suspend: the owning VRRP instance left MASTER; checks pause, state is kept. */
  suspend(): void {
    if (this.options.haSuspend !== true || this.suspended) return;
    this.suspended = true;
    for (const check of this.checks) check.suspend();
  }

  /** ha_suspend: the owning VRRP instance became MASTER again. */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    for (const check of this.checks) check.resume();
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  /**
   * Removes the checks without shutting the service down (no omega scripts,
   * the desired state is left as it was): a reload replaces this monitor.
   * Returns each check's settings and state for the replacement.
   */
  private carryOver(): Map<string, { settings: unknown; state: CheckState }> {
    const out = new Map<string, { settings: unknown; state: CheckState }>();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const check of this.checks) {
      out.set(check.id, { settings: this.settings.get(check.id), state: check.state() });
      check.remove();
    }
    this.checks.length = 0;
    return out;
  }

  /** Removes the checks, leaving no scripts run: a reload removed the virtual server. */
  detach(): void {
    this.carryOver();
  }

  /** Removes the checks and shuts the service down (running omega scripts if configured). */
  async close(): Promise<DesiredServiceState> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const check of this.checks) check.remove();
    this.checks.length = 0;
    return this.health.shutdown();
  }
}

/** The parts of a real's options a check runs with (not its weight or scripts). */
function realTiming(real: VirtualServerHealthOptions['reals'][number]): unknown {
  const {
    weight: _weight,
    notifyUp: _up,
    notifyDown: _down,
    inhibitOnFailure: _inhibit,
    checkers: _c,
    ...timing
  } = real;
  return timing;
}
