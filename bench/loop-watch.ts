import { openSync, readSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The main thread's schedstat (opened here, on the main thread), read again at offset 0. */
let schedstat: number | undefined;
const schedstatText = Buffer.alloc(128);

/**
 * Nanoseconds the main thread has spent on a CPU (schedstat's first field): the
 * time between two timer ticks minus the time spent waiting for a core. One
 * pread of an open file (~2 µs), not readFileSync (~10 µs): the 1 ms watch
 * below calls it thousands of times during the work it measures.
 */
export function mainThreadRunNs(): number {
  schedstat ??= openSync('/proc/thread-self/schedstat', 'r');
  const length = readSync(schedstat, schedstatText, 0, schedstatText.length, 0);
  const text = schedstatText.toString('latin1', 0, length);
  return Number(text.slice(0, text.indexOf(' ')));
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
