import { PerformanceObserver } from 'node:perf_hooks';
import { possibleCpus } from '../src/bpf/index.js';
import * as abi from '../src/dataplane/abi.js';
import type { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import { watchMajorGcs } from './gc-watch.js';
import { openLargePlane } from './large-plane.js';
import { LoopMaxima, watchedCall } from './loop-watch.js';
import { SERVICES } from './reconcile-large.js';
import type { BenchResult } from './result.js';
import { settleHeap } from './settle-heap.js';
import { median } from './stats.js';

const REALS = 32;
const RUNS = 7;

/**
 * Counts in every CPU's slot of lb_real_stats entries 1..count (the ids the
 * apply handed out): bytes past 2^32, as a busy director's are, so the
 * figures are numbers V8 keeps on the heap, not small integers.
 */
function fillRealStats(plane: XdpDataPlane, count: number): void {
  const map = plane.map('realStats');
  const fields = abi.realCounters.size / 8;
  const cpus = possibleCpus();
  const keys = Buffer.alloc(4 * count);
  const values = Buffer.alloc(map.valueBytes * count);
  for (let i = 0; i < count; i++) {
    const id = i + 1;
    keys.writeUInt32LE(id, 4 * i);
    for (let cpu = 0; cpu < cpus; cpu++) {
      for (let f = 0; f < fields; f++) {
        const at = i * map.valueBytes + (cpu * fields + f) * 8;
        values.writeBigUInt64LE(BigInt(id) * 1_000_003n + BigInt(f % 2) * 5_000_000_000n, at);
      }
    }
  }
  map.updatePacked(keys, values);
}

/**
 * counters_large: the XDP data plane's counters() (every Prometheus scrape;
 * lbctl status twice) over the large site (1,000 services x 32 reals, see
 * large-plane.ts), every real's entry holding counts on every CPU. Seven
 * reads after a full GC: wall and CPU time (the whole process, and the main
 * thread's share), how long the event loop went without a timer meanwhile,
 * and the longest GC pause among them (docs/data-plane.md, "How counters()
 * reads them").
 */
export async function countersLarge(): Promise<BenchResult> {
  const { plane, close } = await openLargePlane('counters');
  try {
    fillRealStats(plane, SERVICES * REALS);
    settleHeap();
    const wallMs: number[] = [];
    const cpuMs: number[] = [];
    const mainThreadCpuMs: number[] = [];
    const loop = new LoopMaxima();
    let reals = 0;
    const gcs = watchMajorGcs();
    // Any collection's pause (mostly scavenges of the figures' objects): part of what held the loop.
    let maxGcPauseMs = 0;
    const gcPauses = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) maxGcPauseMs = Math.max(maxGcPauseMs, entry.duration);
    });
    gcPauses.observe({ entryTypes: ['gc'] });
    for (let run = 0; run < RUNS; run++) {
      const read = await watchedCall(() => plane.counters(), { turnFirst: true });
      wallMs.push(read.wallMs);
      cpuMs.push(read.cpuMs);
      mainThreadCpuMs.push(read.mainThreadCpuMs);
      loop.add(read.loop);
      reals = read.result.services.reduce((n, s) => n + s.reals.length, 0);
    }
    const majorGcs = gcs();
    for (const entry of gcPauses.takeRecords()) {
      maxGcPauseMs = Math.max(maxGcPauseMs, entry.duration);
    }
    gcPauses.disconnect();
    return {
      name: 'counters_large',
      services: SERVICES,
      reals,
      countersMs: median(wallMs),
      countersMinMs: Math.min(...wallMs),
      countersMaxMs: Math.max(...wallMs),
      cpuMs: median(cpuMs),
      mainThreadCpuMs: median(mainThreadCpuMs),
      maxLoopDelayMs: loop.maxDelay,
      maxTimerGapMs: loop.maxGap,
      maxRunBetweenTicksMs: loop.maxRun,
      majorGcs: majorGcs.count,
      majorGcPauseMs: majorGcs.pauseMs,
      maxGcPauseMs,
    };
  } finally {
    await close();
  }
}
