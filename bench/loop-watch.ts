import { monitorEventLoopDelay } from 'node:perf_hooks';
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
}

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
  const ticker = setInterval(() => {
    const now = performance.now();
    const run = mainThreadRunNs();
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
    return { maxGap, maxRun, maxDelay: delay.max / 1e6 };
  };
}
