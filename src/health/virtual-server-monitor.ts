import { type CreateCheckerDeps, createChecker } from '../checkers/create-checker.js';
import type { CheckScheduler, ScheduledCheck } from '../checkers/scheduler.js';
import type { Logger } from '../log.js';
import type { DesiredServiceState } from './desired-state.js';
import type { VirtualServerHealthOptions } from './options.js';
import type { ScriptRunner } from './script-runner.js';
import { VirtualServerHealth } from './virtual-server-health.js';

export interface VirtualServerMonitorDeps extends CreateCheckerDeps {
  readonly scheduler: CheckScheduler;
  readonly scripts: ScriptRunner;
  readonly logger?: Logger;
}

/**
 * Health of one virtual server end to end: builds its checkers, runs them on
 * the shared scheduler and keeps a VirtualServerHealth up to date. Check ids
 * are "<service>/<real>/<index>".
 */
export class VirtualServerMonitor {
  readonly health: VirtualServerHealth;
  private readonly checks: ScheduledCheck[] = [];
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
        id: `${options.name}/${key}/${index}`,
        ...createChecker(config, real, [real, options], deps),
      }));
    });
    const ids = new Set(built.map((b) => b.id));
    this.unsubscribe = deps.scheduler.onEvent((event) => {
      if (ids.has(event.id)) this.health.applyCheckEvent(event);
    });
    for (const b of built) {
      this.health.registerCheck(b.key, b.id, { up: !b.policy.alpha });
      this.checks.push(
        deps.scheduler.add({ id: b.id, real: b.key, checker: b.checker, ...b.policy }),
      );
    }
    this.health.start();
  }

  /** How logs, scripts and metrics name the service, e.g. "10.0.0.3:80". */
  get name(): string {
    return this.options.name;
  }

  current(): DesiredServiceState {
    return this.health.current();
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

  /** Removes the checks and shuts the service down (running omega scripts if configured). */
  async close(): Promise<DesiredServiceState> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const check of this.checks) check.remove();
    this.checks.length = 0;
    return this.health.shutdown();
  }
}
