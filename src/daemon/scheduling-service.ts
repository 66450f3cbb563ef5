/**
 * Scheduling of the thread VRRP runs on: keepalived's VRRP process settings
 * (vrrp_priority, vrrp_rt_priority, vrrp_rlimit_rttime, vrrp_cpu_affinity,
 * vrrp_no_swap) and its automatic realtime priority (max_auto_priority,
 * min_auto_priority_delay). Under `lbctl up` this service runs on the VRRP
 * thread (vrrp-thread.ts), so they apply to that thread only, as keepalived's
 * apply to its VRRP process; without VRRP instances, to the main thread.
 * Threads it starts later (new libuv pool threads) and scripts start with
 * normal scheduling (SCHED_RESET_ON_FORK), as keepalived's children do. See
 * docs/operations.md#scheduling.
 */

import { getPriority, setPriority } from 'node:os';
import type { Config, SchedulingSettings } from '../config/model.js';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SchedulingReading } from '../metrics/scheduling-collectors.js';
import { type NativeAddon, native } from '../native/addon.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { Service } from '../service.js';
import { systemClock } from '../time/clock.js';
import { LatenessWatch } from '../time/lateness-watch.js';
import { sleepAtSliceBoundaries } from '../time/loop-slice.js';
import type { Reloadable } from './reload.js';

/** keepalived's default vrrp_rlimit_rttime, in microseconds. */
export const DEFAULT_REALTIME_LIMIT_US = 10_000;

/** keepalived's default min_auto_priority_delay, in microseconds. */
export const DEFAULT_AUTO_PRIORITY_DELAY_US = 1_000_000;

/** The lowest SCHED_RR priority: where an automatic raise starts (sched_get_priority_min). */
const FIRST_AUTO_PRIORITY = 1;

/** How long a slice boundary sleeps under realtime scheduling (resets the kernel's count). */
const BOUNDARY_SLEEP_MS = 0.05;

/**
 * How often the daemon looks whether SIGXCPU demoted the loop, and restores
 * it: a demotion takes a run past the limit, so a loop that keeps running
 * past it holds a core at realtime priority for that run in every 100 ms.
 */
const DEMOTION_CHECK_MS = 100;

/**
 * RLIMIT_RTTIME for vrrp_rlimit_rttime: SIGXCPU at the limit, which the
 * daemon answers by demoting the loop to normal scheduling (keepalived only
 * logs it, at half the limit); SIGKILL a second later, should the demotion
 * ever fail (keepalived: at the limit). Half the limit as the warning would
 * not work at HZ=250: the kernel counts in 4 ms ticks and first looks at
 * ceil(soft / tick) + 1 ticks, so keepalived's 5,000 µs warning is due at
 * 12,000 µs, past its 10,000 µs kill.
 */
export function realtimeLimits(limitUs: number): { soft: number; hard: number } {
  return { soft: limitUs, hard: limitUs + 1_000_000 };
}

interface Original {
  readonly nice: number;
  readonly cpus: readonly number[];
  readonly limit: { readonly soft: number; readonly hard: number };
}

export class SchedulingService implements Service, Reloadable {
  readonly name = 'scheduling';
  private original: Original | undefined;
  private applied: SchedulingSettings = { noSwap: false };
  /** The SCHED_RR priority the loop runs at (configured or raised automatically); undefined: not realtime. */
  private realtime: number | undefined;
  private readonly lateness = new LatenessWatch();
  private demotionCheck: NodeJS.Timeout | undefined;
  private demotionsSeen = 0;
  private guardInstalled = false;
  private readonly demotionLog: RateLimitedLog;

  constructor(
    private readonly settings: SchedulingSettings,
    private readonly logger: Logger,
    private readonly addon: NativeAddon = native(),
  ) {
    this.demotionLog = new RateLimitedLog(logger, systemClock);
  }

  async start(): Promise<void> {
    this.checkCpus(this.settings);
    this.apply(this.settings);
  }

  planReload(next: Config): { summary: string; apply: () => Promise<void> } {
    const settings = next.global.scheduling;
    this.checkCpus(settings);
    return {
      summary: `scheduling: ${
        describe(settings) === describe(this.applied) ? 'unchanged, ' : ''
      }${describe(settings)}`,
      apply: async () => this.apply(settings),
    };
  }

  /** How often SIGXCPU demoted the loop, while it runs under realtime priority; else undefined. */
  realtimeDemotions(): number | undefined {
    return this.realtime === undefined ? undefined : this.addon.realtimeDemotions();
  }

  /** The loop's SCHED_RR priority now, configured or raised by max_auto_priority; 0: normal scheduling. */
  realtimePriority(): number {
    return this.realtime ?? 0;
  }

  /** Both, for the metrics. */
  reading(): SchedulingReading {
    return {
      realtimePriority: this.realtimePriority(),
      realtimeDemotions: this.realtimeDemotions(),
    };
  }

  /** Returns the thread to how it was started. */
  async close(): Promise<void> {
    this.lateness.stop();
    if (this.original === undefined) return;
    try {
      this.apply({ noSwap: false });
    } catch (err) {
      this.logger.warn(
        { err },
        'Cannot restore the event loop scheduling: %s',
        (err as Error).message,
      );
    }
  }

  /**
   * keepalived refuses a vrrp_cpu_affinity CPU that is not online; lbctl one
   * the process may not run on (offline, or outside its cpuset), before
   * anything is changed (at start, and in a reload's plan). sched_setaffinity
   * alone would drop it silently.
   */
  private checkCpus(settings: SchedulingSettings): void {
    if (settings.cpuAffinity === undefined) return;
    const allowed = this.original?.cpus ?? this.addon.threadCpuAffinity();
    const refused = settings.cpuAffinity.filter((cpu) => !allowed.includes(cpu));
    if (refused.length === 0) return;
    throw new LbctlError(
      'SCHEDULING_CPU_NOT_ALLOWED',
      `Cannot bind the event loop to CPU ${refused.join(', ')} (vrrp_cpu_affinity): this process may run on CPU ${allowed.join(', ')} only`,
    );
  }

  /** Applies `settings` whole; on a failure the thread is put back as it was and the error thrown. */
  private apply(settings: SchedulingSettings): void {
    if (this.original === undefined) {
      if (!anySet(settings)) return;
      this.original = {
        nice: getPriority(0),
        cpus: this.addon.threadCpuAffinity(),
        limit: this.addon.realtimeTimeLimit(),
      };
    }
    const before = this.applied;
    try {
      this.set(settings, this.original);
      this.applied = settings;
    } catch (err) {
      try {
        this.set(before, this.original);
      } catch (restoreErr) {
        this.logger.warn(
          { err: restoreErr },
          'Cannot restore the event loop scheduling: %s',
          (restoreErr as Error).message,
        );
      }
      throw err;
    }
    if (anySet(settings)) this.logger.info(`event loop scheduling: ${describe(settings)}`);
  }

  private set(settings: SchedulingSettings, original: Original): void {
    const addon = this.addon;
    addon.setThreadCpuAffinity(settings.cpuAffinity ?? original.cpus);
    const nice = settings.nice ?? original.nice;
    try {
      setPriority(0, nice);
    } catch (err) {
      const code = (err as { info?: { code?: string } }).info?.code ?? '';
      throw new LbctlError(
        'SYSTEM_CALL_FAILED',
        `Cannot set the event loop's nice value to ${nice}: ${
          code === 'EACCES' || code === 'EPERM'
            ? 'not permitted (needs CAP_SYS_NICE)'
            : (err as Error).message
        }`,
        { cause: err },
      );
    }
    // Every apply starts from the configured priority: a reload drops an
    // automatic raise, as keepalived's does.
    this.lateness.stop();
    const priority = settings.realtimePriority;
    if (priority === undefined) {
      this.stopDemotionCheck();
      sleepAtSliceBoundaries(0);
      addon.setEventLoopRealtime(0, original.limit.soft, original.limit.hard);
      this.realtime = undefined;
    } else {
      this.enterRealtime(priority, settings);
    }
    if (settings.noSwap !== this.applied.noSwap) addon.lockMemory(settings.noSwap);
    if ((settings.maxAutoPriority ?? 0) > 0) {
      const delayUs = settings.minAutoPriorityDelayUs ?? DEFAULT_AUTO_PRIORITY_DELAY_US;
      this.lateness.start(delayUs / 1000, (lateMs) => this.raise(lateMs, settings));
    }
  }

  /** SCHED_RR at `priority` under the configured vrrp_rlimit_rttime, with the SIGXCPU guard. */
  private enterRealtime(priority: number, settings: SchedulingSettings): void {
    const limitUs = settings.realtimeLimitUs ?? DEFAULT_REALTIME_LIMIT_US;
    if (!this.guardInstalled) {
      this.addon.installRealtimeGuard();
      this.guardInstalled = true;
    }
    const { soft, hard } = realtimeLimits(limitUs);
    this.addon.setEventLoopRealtime(priority, soft, hard);
    sleepAtSliceBoundaries(BOUNDARY_SLEEP_MS);
    this.startDemotionCheck(priority, limitUs);
    this.realtime = priority;
  }

  /**
   * max_auto_priority: the loop ran a timer `lateMs` late, past
   * min_auto_priority_delay. As keepalived's increment_process_priority:
   * to SCHED_RR at the lowest priority first, then one higher each time,
   * up to max_auto_priority; kept until the next reload.
   */
  private raise(lateMs: number, settings: SchedulingSettings): void {
    const max = settings.maxAutoPriority ?? 0;
    const current = this.realtime;
    if (current !== undefined && current >= max) return;
    const next = current === undefined ? FIRST_AUTO_PRIORITY : current + 1;
    try {
      this.enterRealtime(next, settings);
    } catch (err) {
      // Not permitted (no CAP_SYS_NICE): said once; trying again would fail the same way.
      this.lateness.stop();
      this.logger.warn({ err }, 'max_auto_priority: %s', (err as Error).message);
      return;
    }
    this.logger.warn(
      { lateMs: Math.round(lateMs), realtimePriority: next, maxAutoPriority: max },
      `the event loop ran a timer ${Math.round(lateMs)} ms late (min_auto_priority_delay ${settings.minAutoPriorityDelayUs ?? DEFAULT_AUTO_PRIORITY_DELAY_US} µs): now SCHED_RR priority ${next} (max_auto_priority ${max})`,
    );
  }

  /**
   * SIGXCPU (the event loop ran past the soft limit without sleeping) drops
   * the thread to normal scheduling in the signal handler, before the
   * kernel's SIGKILL at the hard limit; here, within 100 ms, the realtime
   * priority is given back and it is logged (once a minute at most).
   */
  private startDemotionCheck(priority: number, limitUs: number): void {
    this.stopDemotionCheck();
    this.demotionCheck = setInterval(() => {
      const demotions = this.addon.realtimeDemotions();
      if (demotions === this.demotionsSeen) return;
      this.demotionsSeen = demotions;
      this.demotionLog.warn(
        'demoted',
        { demotions },
        `the event loop ran past vrrp_rlimit_rttime (${limitUs} µs) without sleeping and was moved to normal scheduling; back to realtime priority ${priority}`,
      );
      try {
        const { soft, hard } = realtimeLimits(limitUs);
        this.addon.setEventLoopRealtime(priority, soft, hard);
      } catch (err) {
        this.logger.error({ err }, (err as Error).message);
      }
    }, DEMOTION_CHECK_MS);
    this.demotionCheck.unref();
  }

  private stopDemotionCheck(): void {
    if (this.demotionCheck !== undefined) clearInterval(this.demotionCheck);
    this.demotionCheck = undefined;
    this.demotionLog.close();
  }
}

function anySet(s: SchedulingSettings): boolean {
  return (
    s.nice !== undefined ||
    s.realtimePriority !== undefined ||
    s.cpuAffinity !== undefined ||
    (s.maxAutoPriority ?? 0) > 0 ||
    s.noSwap
  );
}

function describe(s: SchedulingSettings): string {
  if (!anySet(s)) return 'as started';
  const parts: string[] = [];
  if (s.realtimePriority !== undefined) {
    parts.push(
      `SCHED_RR priority ${s.realtimePriority}, rlimit_rttime ${s.realtimeLimitUs ?? DEFAULT_REALTIME_LIMIT_US} µs`,
    );
  }
  if (s.nice !== undefined) parts.push(`nice ${s.nice}`);
  if (s.cpuAffinity !== undefined) parts.push(`CPUs ${s.cpuAffinity.join(',')}`);
  if ((s.maxAutoPriority ?? 0) > 0) {
    parts.push(
      `automatic realtime up to priority ${s.maxAutoPriority} when ${s.minAutoPriorityDelayUs ?? DEFAULT_AUTO_PRIORITY_DELAY_US} µs late`,
    );
  }
  if (s.noSwap) parts.push('memory locked');
  return parts.join(', ');
}
