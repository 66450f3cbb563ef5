import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { Clock, Timer } from '../time/clock.js';
import {
  openFileLimit,
  PROGRAM_CHECK_CONCURRENCY,
  socketCheckConcurrency,
} from './check-concurrency.js';
import {
  advanceCheckState,
  type CheckState,
  initialCheckState,
  type RetryPolicy,
} from './check-state.js';
import { MinHeap } from './min-heap.js';
import { type StartedCheck, startCheck } from './run-check.js';
import { Semaphore } from './semaphore.js';
import type { Checker, CheckResult } from './types.js';

/** One check to run periodically against one real server. */
export interface ScheduledCheckOptions extends RetryPolicy {
  /** Unique among the scheduler's checks, e.g. "10.0.0.1:80/0". */
  readonly id: string;
  /** The real server this check vouches for, as its owner names it. */
  readonly real: string;
  readonly checker: Checker;
  /** warmup: the first run happens at a random time in [0, warmupMs). */
  readonly warmupMs: number;
  /** alpha: start in the down state. */
  readonly alpha: boolean;
  /** Where the check starts instead (a reload carrying over an unchanged check's state). */
  readonly initialState?: CheckState;
}

/** A verdict change of one check: up/down flipped, or its dynamic weight changed. */
export interface CheckEvent {
  readonly id: string;
  readonly real: string;
  readonly up: boolean;
  readonly reason?: string;
  readonly weight?: number;
}

/** Handle for one scheduled check. */
export interface ScheduledCheck {
  readonly id: string;
  state(): CheckState;
  /** Stop running the check (ha_suspend); its state is kept as it was. */
  suspend(): void;
  /** Run it again from its next due time. */
  resume(): void;
  remove(): void;
}

export interface CheckSchedulerOptions {
  readonly clock: Clock;
  /** Most socket checks in flight at once (default: from the descriptor limit, see check-concurrency.ts). */
  readonly concurrency?: number;
  /** Most MISC_CHECKs (a program each) in flight at once (default 256). */
  readonly programConcurrency?: number;
  /** Returns a number in [0, 1); spreads warmup. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

interface Entry {
  readonly options: ScheduledCheckOptions;
  state: CheckState;
  suspended: boolean;
  removed: boolean;
  running: boolean;
  /** Bumped whenever the entry is rescheduled, so stale heap items are skipped. */
  generation: number;
}

interface Due {
  readonly at: number;
  readonly seq: number;
  readonly entry: Entry;
  readonly generation: number;
}

/**
 * Checks started per timer callback. Each starts (a nonblocking connect, a
 * spawn) in the microtasks that follow the callback, so thousands due at once
 * (warmup 0, or a loop that was held up) would hold the loop the VRRP timers
 * share. 64 connects take ~1 ms to a remote real (6 ms on loopback, where
 * connect() also runs the listener's side); 64 a turn still starts tens of
 * thousands a second.
 */
export const MAX_LAUNCHES_PER_TURN = 64;

/**
 * Runs thousands of checks from one timer. Due times live in a heap and the
 * next regular run is computed from the previous due time, not from when the
 * previous run finished, so periods do not drift. Semaphores bound how many
 * checks are in flight (socket checks and programs apart); each run is cut
 * off at its own timeout, so a hung target holds its slot at most that long.
 */
export class CheckScheduler {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly slots: Semaphore;
  private readonly programSlots: Semaphore;
  private readonly heap = new MinHeap<Due>(
    (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq),
  );
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(event: CheckEvent) => void>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  /** Checks under way, for stop() to cut short (no listener each on a shared signal). */
  private readonly running = new Set<StartedCheck>();
  private timer: Timer | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private seq = 0;
  private started = false;

  constructor(options: CheckSchedulerOptions) {
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger();
    // Apart: hung programs do not hold up socket checks, nor hung targets programs.
    this.slots = new Semaphore(options.concurrency ?? socketCheckConcurrency(openFileLimit()));
    this.programSlots = new Semaphore(options.programConcurrency ?? PROGRAM_CHECK_CONCURRENCY);
  }

  /** Listens for verdict changes; returns the function that stops listening. */
  onEvent(listener: (event: CheckEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  add(options: ScheduledCheckOptions): ScheduledCheck {
    if (this.entries.has(options.id)) {
      throw new RangeError(`Cannot add check ${options.id}: a check with that id exists`);
    }
    const entry: Entry = {
      options,
      state: options.initialState ?? initialCheckState(options.alpha),
      suspended: false,
      removed: false,
      running: false,
      generation: 0,
    };
    this.entries.set(options.id, entry);
    const warmup = options.warmupMs > 0 ? Math.floor(this.random() * options.warmupMs) : 0;
    this.schedule(entry, this.clock.now() + warmup);
    return {
      id: options.id,
      state: () => entry.state,
      suspend: () => {
        entry.suspended = true;
      },
      resume: () => {
        entry.suspended = false;
      },
      remove: () => {
        entry.removed = true;
        entry.generation++;
        this.entries.delete(options.id);
      },
    };
  }

  /** Starts firing due checks. Checks added before start keep their warmup offsets. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.arm();
  }

  /** Stops scheduling, aborts checks in flight and waits for them to unwind. */
  async stop(): Promise<void> {
    this.started = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.stopped = true;
    const reason = new Error('scheduler stopped');
    for (const run of this.running) run.cancel(reason);
    await Promise.all([...this.inFlight]);
  }

  /** Checks currently running or waiting for a slot. */
  get pending(): number {
    return this.inFlight.size;
  }

  private schedule(entry: Entry, at: number): void {
    entry.generation++;
    this.heap.push({ at, seq: this.seq++, entry, generation: entry.generation });
    if (this.started && at < this.timerAt) this.arm();
  }

  /** Points the single timer at the earliest due time. */
  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (!this.started) return;
    const next = this.heap.peek();
    if (next === undefined) return;
    this.timerAt = next.at;
    this.timer = this.clock.setTimer(next.at - this.clock.now(), () => this.fire());
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let launched = 0;
    for (;;) {
      const due = this.heap.peek();
      if (due === undefined || due.at > now) break;
      // The rest on the next turn (arm() finds them due): the checks launched
      // here all start (connect, spawn) before the loop runs anything else.
      if (launched === MAX_LAUNCHES_PER_TURN) break;
      this.heap.pop();
      const entry = due.entry;
      if (entry.removed || due.generation !== entry.generation || entry.running) continue;
      if (entry.suspended) {
        // keepalived keeps a disabled checker ticking without running it.
        this.schedule(entry, due.at + entry.options.delayLoopMs);
        continue;
      }
      this.launch(entry, due.at);
      launched++;
    }
    this.arm();
  }

  private launch(entry: Entry, dueAt: number): void {
    entry.running = true;
    const run = this.execute(entry, dueAt).finally(() => {
      entry.running = false;
      this.inFlight.delete(run);
    });
    this.inFlight.add(run);
  }

  private async execute(entry: Entry, dueAt: number): Promise<void> {
    const checker = entry.options.checker;
    const release = await (checker.kind === 'MISC_CHECK'
      ? this.programSlots
      : this.slots
    ).acquire();
    let result: CheckResult;
    try {
      if (this.stopped || entry.removed) return;
      const run = startCheck(checker, this.clock);
      this.running.add(run);
      try {
        result = await run.result;
      } finally {
        this.running.delete(run);
      }
    } finally {
      release();
    }
    if (this.stopped || entry.removed) return;
    this.conclude(entry, dueAt, result);
  }

  private conclude(entry: Entry, dueAt: number, result: CheckResult): void {
    const o = entry.options;
    const step = advanceCheckState(entry.state, result, o);
    entry.state = step.state;
    const now = this.clock.now();
    if (!result.ok) {
      this.logger.debug(
        { check: o.id, real: o.real, kind: o.checker.kind, target: o.checker.target },
        `${o.checker.kind} to ${o.checker.target} failed: ${result.reason ?? 'unknown'}`,
      );
    }
    let next: number;
    if (step.retrying) {
      next = now + step.delayMs;
    } else {
      // Keep the phase: the next slot after the one just served that is not in the past.
      next = dueAt + step.delayMs;
      if (next < now && step.delayMs > 0) {
        next += Math.ceil((now - next) / step.delayMs) * step.delayMs;
      }
    }
    this.schedule(entry, Math.max(next, now));
    if (step.changed) this.emit(entry, result);
  }

  private emit(entry: Entry, result: CheckResult): void {
    const o = entry.options;
    const s = entry.state;
    const event: CheckEvent = {
      id: o.id,
      real: o.real,
      up: s.up,
      ...(!s.up && result.reason !== undefined ? { reason: result.reason } : {}),
      ...(s.weight !== undefined ? { weight: s.weight } : {}),
    };
    const attempts = o.retry > 0 && !s.up ? ` after ${o.retry} retries` : '';
    this.logger.info(
      { check: o.id, real: o.real, kind: o.checker.kind, up: s.up, reason: event.reason },
      s.up
        ? `${o.checker.kind} to ${o.checker.target} succeeded: up`
        : `${o.checker.kind} to ${o.checker.target} failed${attempts}: ${event.reason ?? 'unknown'}: down`,
    );
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, check: o.id }, 'check event listener threw');
      }
    }
  }
}
