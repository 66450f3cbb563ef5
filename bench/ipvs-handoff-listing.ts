/**
 * The IPVS hand-off's side of status_connections: a stopping master on
 * kernel IPVS reads /proc/net/ip_vs_conn, maps every row and sends it to the
 * backups (src/sync/ipvs-table-handoff.ts) while VRRP still runs on its
 * event loop. Here the same code reads a file in that format (the host has
 * no IPVS) and sends to the sync group on lo; reported: how long it took and
 * the longest the loop was held meanwhile, against the 10 ms budget.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TIMEOUTS } from '../src/dataplane/dataplane.js';
import { IpvsServiceIndex } from '../src/sync/ipvs-connection-entry.js';
import { IPVS_SYNC_DEFAULT_MAXLEN } from '../src/sync/ipvs-sync-codec.js';
import { handOffIpvsConnections } from '../src/sync/ipvs-table-handoff.js';
import { openSyncSender } from '../src/sync/multicast-transport.js';
import { systemClock } from '../src/time/clock.js';
import { cpuMs } from './cpu-time.js';
import { watchMajorGcs } from './gc-watch.js';
import { mainThreadRunNs, watchLoop } from './loop-watch.js';
import type { BenchResult } from './result.js';
import { settleHeap } from './settle-heap.js';

/** LBCTL_BENCH_HANDOFF_ROWS: the table's rows (the hand-off's own bound is 100,000). */
const ROWS = Number(process.env.LBCTL_BENCH_HANDOFF_ROWS ?? 100_000);
const REALS = 8;
/** The daemon's rule for a synchronous stretch on the event loop. */
const LOOP_BUDGET_MS = 10;

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

/** Rows per write: about 80 KiB of text, so the table never sits whole on the heap. */
const ROWS_PER_WRITE = 1024;

/**
 * Rows as the kernel prints them: one DR service, one row in three active
 * within the last 5 s. Written a piece at a time: the whole table as one
 * array of lines and one string (~30 MB promoted to the old generation) left
 * a mark-compact due that fell inside the timed hand-off.
 */
function writeTable(path: string): void {
  const fd = openSync(path, 'w');
  try {
    let text = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n';
    for (let i = 0; i < ROWS; i++) {
      const client = hex(0x0a500000 + (i >> 12), 8);
      const port = hex(1024 + (i & 0xfff), 4);
      const real = hex(0x0a4f000b + (i % REALS), 8);
      const expires = i % 3 === 0 ? 898 : 400 + (i % 400);
      text += `TCP ${client} ${port} 0A4F0064 0050 ${real} 0050 ESTABLISHED ${expires}\n`;
      if ((i + 1) % ROWS_PER_WRITE === 0) {
        writeSync(fd, text);
        text = '';
      }
    }
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

export async function ipvsHandoffListing(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-bench-handoff-'));
  try {
    const path = join(dir, 'ip_vs_conn');
    writeTable(path);
    const services = new IpvsServiceIndex([
      {
        service: { vip: '10.79.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' },
        reals: Array.from({ length: REALS }, (_, i) => ({
          address: `10.79.0.${11 + i}`,
          port: 80,
          weight: 1,
          forwarding: 'dr' as const,
        })),
      },
    ]);
    let sendErrors = 0;
    // A port of its own: nothing on the machine listens to these datagrams.
    const sender = await openSyncSender(
      { interface: 'lo', group: '224.0.0.81', port: 28_848, ttl: 1 },
      () => void sendErrors++,
    );
    try {
      // The XDP listing before leaves ~15 MB of garbage in the old generation, one
      // full collection short of due: collected here, not inside the hand-off.
      settleHeap();
      const stopGcWatch = watchMajorGcs();
      const stopWatch = watchLoop();
      const cpuBefore = cpuMs();
      const mainBefore = mainThreadRunNs();
      const result = await handOffIpvsConnections({
        services,
        timeouts: DEFAULT_TIMEOUTS,
        syncId: 1,
        maxLength: IPVS_SYNC_DEFAULT_MAXLEN,
        sender,
        clock: systemClock,
        pause: () => new Promise((resolve) => systemClock.setTimer(1, resolve)),
        path,
      });
      const handoffCpuMs = cpuMs() - cpuBefore;
      const handoffMainThreadCpuMs = (mainThreadRunNs() - mainBefore) / 1e6;
      const loop = await stopWatch();
      const majorGcs = stopGcWatch();
      return {
        name: 'status_connections_ipvs_handoff',
        rows: result.listed,
        sentConnections: result.sentConnections,
        cut: result.cut ?? 'none',
        sendErrors,
        handoffMs: result.elapsedMs,
        // The process's CPU (the collector's helper threads too), then the event loop's thread alone.
        handoffCpuMs,
        handoffMainThreadCpuMs,
        // The longest the main thread ran without a timer turn, against the daemon's 10 ms rule.
        maxRunBetweenTicksMs: loop.maxRun,
        ratioToLoopBudget: loop.maxRun / LOOP_BUDGET_MS,
        maxTimerGapMs: loop.maxGap,
        maxLoopDelayMs: loop.maxDelay,
        // Full collections inside the hand-off: the heap left before it should not add one.
        majorGcs: majorGcs.count,
        majorGcPauseMs: majorGcs.pauseMs,
      };
    } finally {
      sender.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
