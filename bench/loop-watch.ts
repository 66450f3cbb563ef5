import { monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { native } from '../src/native/addon.js';

/**
 * Nanoseconds the calling (main) thread has spent on a CPU, up to this call
 * (CLOCK_THREAD_CPUTIME_ID, well under a microsecond). /proc's schedstat,
 * read before, counts only to the thread's last scheduler tick: at HZ=250 a
 * 1.5 ms busy loop read as anything from 0.1 to 3.5 ms.
 */
export function mainThreadRunNs(): number {
  return native().threadCpuNs();
}

export interface LoopWatch {
  /** Longest wall time between two ticks of a 1 ms interval (includes waiting for a core). */
  readonly maxGap: number;
  /** Longest main-thread CPU time between two ticks: what the work itself held the loop. */
  readonly maxRun: number;
  /** monitorEventLoopDelay's maximum (misses a stall spanning the whole watch). */
  readonly maxDelay: number;
  /** Gaps between ticks longer than LONG_GAP_MS. */
  readonly longGaps: number;
  /** Of those, the gaps a garbage collection pause of at least 1 ms fell in. */
  readonly longGapsWithGc: number;
  /**
   * Of those, the gaps the main thread spent mostly off a CPU (under half the
   * gap on one): waiting for a core, or blocked (a lock, a system call, a
   * collector helper it joins).
   */
  readonly longGapsOffCpu: number;
  /** The longest GC pause on this thread during the watch (scavenge or mark-compact). */
  readonly maxGcPauseMs: number;
}

/** A gap between ticks past this is one a VRRP timer would notice (issue target: 10 ms). */
export const LONG_GAP_MS = 10;
/** Long gaps kept for attribution: enough for any pass, bounded for a runaway one. */
const MAX_LONG_GAPS = 10_000;

/**
 * Watches how long the event loop goes without running a timer: what a VRRP
 * advert timer sharing the loop would have waited. Call the result to stop.
 */
export function watchLoop(): () => Promise<LoopWatch> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let lastRun = mainThreadRunNs();
  let maxGap = 0;
  let maxRun = 0;
  const longGaps: [number, number][] = [];
  let longGapsOffCpu = 0;
  const gcPauses: [number, number][] = [];
  let maxGcPauseMs = 0;
  const takeGcs = (entries: readonly PerformanceEntry[]) => {
    for (const entry of entries) {
      maxGcPauseMs = Math.max(maxGcPauseMs, entry.duration);
      if (entry.duration >= 1 && gcPauses.length < MAX_LONG_GAPS) {
        gcPauses.push([entry.startTime, entry.startTime + entry.duration]);
      }
    }
  };
  const gcs = new PerformanceObserver((list) => takeGcs(list.getEntries()));
  gcs.observe({ entryTypes: ['gc'] });
  const ticker = setInterval(() => {
    const now = performance.now();
    const run = mainThreadRunNs();
    if (now - last > LONG_GAP_MS && longGaps.length < MAX_LONG_GAPS) {
      longGaps.push([last, now]);
      if ((run - lastRun) / 1e6 < (now - last) / 2) longGapsOffCpu++;
    }
    maxGap = Math.max(maxGap, now - last);
    maxRun = Math.max(maxRun, (run - lastRun) / 1e6);
    last = now;
    lastRun = run;
  }, 1);
  delay.enable();
  return async () => {
    // One more turn so a stretch that blocked until the end is sampled too.
    await new Promise((resolve) => setTimeout(resolve, 2));
    clearInterval(ticker);
    delay.disable();
    takeGcs(gcs.takeRecords());
    gcs.disconnect();
    const longGapsWithGc = longGaps.filter(([from, to]) =>
      gcPauses.some(([start, end]) => start < to && end > from),
    ).length;
    return {
      maxGap,
      maxRun,
      maxDelay: delay.max / 1e6,
      longGaps: longGaps.length,
      longGapsWithGc,
      longGapsOffCpu,
      maxGcPauseMs,
    };
  };
}

/** The longest of each figure over several watches (a bench's runs); counts are summed. */
export class LoopMaxima implements LoopWatch {
  maxGap = 0;
  maxRun = 0;
  maxDelay = 0;
  longGaps = 0;
  longGapsWithGc = 0;
  longGapsOffCpu = 0;
  maxGcPauseMs = 0;

  add(watch: LoopWatch): void {
    this.maxGap = Math.max(this.maxGap, watch.maxGap);
    this.maxRun = Math.max(this.maxRun, watch.maxRun);
    this.maxDelay = Math.max(this.maxDelay, watch.maxDelay);
    this.longGaps += watch.longGaps;
    this.longGapsWithGc += watch.longGapsWithGc;
    this.longGapsOffCpu += watch.longGapsOffCpu;
    this.maxGcPauseMs = Math.max(this.maxGcPauseMs, watch.maxGcPauseMs);
  }
}

export interface WatchedCall<T> {
  readonly result: T;
  readonly wallMs: number;
  /** CPU of the whole process (all threads): on a shared machine wall time also counts waiting for a core. */
  readonly cpuMs: number;
  /** The main thread's share: what the event loop spent. */
  readonly mainThreadCpuMs: number;
  readonly loop: LoopWatch;
}

/**
 * Runs `call` under a loop watch, timing it. `turnFirst` gives the loop a
 * turn once the watch runs, before the call: monitorEventLoopDelay misses a
 * stall that starts with the watch.
 */
export async function watchedCall<T>(
  call: () => Promise<T>,
  options: { turnFirst?: boolean } = {},
): Promise<WatchedCall<T>> {
  const stop = watchLoop();
  if (options.turnFirst === true) await new Promise((resolve) => setTimeout(resolve, 5));
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadRunNs();
  const started = performance.now();
  const result = await call();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const mainThreadCpuMs = (mainThreadRunNs() - mainBefore) / 1e6;
  return {
    result,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    mainThreadCpuMs,
    loop: await stop(),
  };
}
