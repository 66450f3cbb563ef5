import { callEach } from '../listeners.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { Clock, Timer } from '../time/clock.js';
import type { Supervised, SupervisionReport } from './supervision.js';

/** Whether the data plane forwards on every interface it should. */
export interface DataPlaneHealth {
  readonly healthy: boolean;
  /** Not open yet (its owner is still loading it): it forwards nothing, nothing is broken. */
  readonly starting?: boolean;
  /** The interfaces the data plane forwards on. */
  readonly interfaces: readonly string[];
  /** Interfaces it cannot serve now, with the reason (empty when healthy). */
  readonly broken: readonly { readonly interface: string; readonly reason: string }[];
}

/** What supervision did since start, for metrics. */
export interface SupervisionCounters {
  checks: number;
  /** Things someone else removed or replaced and that were put back. */
  restored: number;
  /** Checks that found an interface the data plane cannot serve. */
  failedChecks: number;
}

export const SUPERVISION_INTERVAL_MS = 1000;

/**
 * Watches a data plane's installation (its XDP links and pins) by asking it
 * to check itself every second: what someone else removed is put back and
 * logged; what cannot be put back makes the data plane unhealthy, which is
 * logged and told to subscribers (VRRP puts the instances it serves in
 * FAULT; others, such as route announcements, may withdraw). Health events
 * fire on changes only, and once when a subscriber joins.
 */
export class DataPlaneSupervisor {
  readonly counters: SupervisionCounters = { checks: 0, restored: 0, failedChecks: 0 };
  private readonly listeners = new Set<(health: DataPlaneHealth) => void>();
  private current: DataPlaneHealth;
  private timer: Timer | undefined;
  private closed = false;
  private readonly problems: RateLimitedLog;

  constructor(
    private readonly target: Supervised,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs = SUPERVISION_INTERVAL_MS,
  ) {
    this.current = { healthy: true, interfaces: [], broken: [] };
    this.problems = new RateLimitedLog(log, clock);
  }

  get health(): DataPlaneHealth {
    return this.current;
  }

  /** Checks now and then every interval until close. */
  start(): void {
    this.check();
    this.schedule();
  }

  /** Hears every health change; called at once with the current health. */
  onHealth(listener: (health: DataPlaneHealth) => void): () => void {
    this.listeners.add(listener);
    listener(this.current);
    return () => this.listeners.delete(listener);
  }

  /** One check: repairs, logs and publishes a changed health. */
  check(): DataPlaneHealth {
    if (this.closed) return this.current;
    let report: SupervisionReport;
    try {
      report = this.target.supervise();
    } catch (err) {
      report = {
        interfaces: this.current.interfaces,
        restored: [],
        broken: [{ interface: '*', reason: (err as Error).message }],
      };
    }
    this.counters.checks++;
    this.counters.restored += report.restored.length;
    for (const line of report.restored) this.log.warn({ restored: line }, `data plane: ${line}`);
    // Reported every second until fixed: one line per problem per minute.
    for (const line of report.unrestored ?? [])
      this.problems.warn(line, { problem: line }, `data plane: ${line}`);
    if (report.broken.length > 0) this.counters.failedChecks++;
    const next: DataPlaneHealth = {
      healthy: report.broken.length === 0,
      interfaces: report.interfaces,
      broken: report.broken,
    };
    if (sameHealth(next, this.current)) {
      this.current = next;
      return next;
    }
    this.current = next;
    if (next.healthy) this.log.info({ interfaces: next.interfaces }, 'data plane healthy again');
    else
      this.log.error(
        { broken: next.broken },
        `data plane cannot forward on ${next.broken.map((b) => `${b.interface} (${b.reason})`).join(', ')}`,
      );
    callEach(this.listeners, [next], (err) =>
      this.log.error({ err }, 'data-plane health listener failed'),
    );
    return next;
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.listeners.clear();
    this.problems.close();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.clock.setTimer(this.intervalMs, () => {
      this.check();
      this.schedule();
    });
  }
}

function sameHealth(a: DataPlaneHealth, b: DataPlaneHealth): boolean {
  const key = (h: DataPlaneHealth) =>
    JSON.stringify([h.healthy, h.broken.map((x) => x.interface).sort()]);
  return key(a) === key(b);
}
