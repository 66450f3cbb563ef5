import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';

export interface MajorGcWatch {
  /** Mark-compacts that ran inside the watch. */
  readonly count: number;
  /** Their pauses added up (the main thread's part, as V8 reports it). */
  readonly pauseMs: number;
}

/**
 * Counts V8's full garbage collections while a case runs: one inside a timed
 * stretch may belong to the heap an earlier case left, not to the case.
 * Call the result to stop.
 */
export function watchMajorGcs(): () => MajorGcWatch {
  let count = 0;
  let pauseMs = 0;
  const take = (entries: readonly PerformanceEntry[]) => {
    for (const entry of entries) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      count++;
      pauseMs += entry.duration;
    }
  };
  const observer = new PerformanceObserver((list) => take(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    // Entries not yet handed to the callback.
    take(observer.takeRecords());
    observer.disconnect();
    return { count, pauseMs };
  };
}
