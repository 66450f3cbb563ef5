/**
 * status_large: `lbctl status` and `lbctl status --rate` against a director
 * with 1,000 services × 32 reals: the daemon's control handler (counters,
 * connection counts, the report sent in pieces) and the client reading it
 * back over a real control socket. Reports each answer's wall time and the
 * longest the daemon's event loop was held meanwhile, against VRRP's 10 ms
 * budget (docs/operations.md, "Status at scale").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestStatus } from '../src/cli/commands/status-request.js';
import { ControlServer } from '../src/control/server.js';
import { controlSocketPath } from '../src/control/socket-path.js';
import { controlHandlers } from '../src/daemon/control-handlers.js';
import type { VirtualServerService } from '../src/daemon/virtual-server-service.js';
import { silentLogger } from '../src/log.js';
import { openLargePlane } from './large-plane.js';
import { LoopMaxima, watchedCall } from './loop-watch.js';
import { SERVICES } from './reconcile-large.js';
import type { BenchResult } from './result.js';
import { median } from './stats.js';

const RUNS = 3;

export async function statusLarge(): Promise<BenchResult[]> {
  const { plane, close } = await openLargePlane('status');
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-bench-status-'));
  // Only what the status handler reads of the virtual-server service.
  const virtualServers = {
    xdp: plane,
    ipvs: undefined,
    overrideOf: () => undefined,
    findReal: () => undefined,
  } as unknown as VirtualServerService;
  const server = new ControlServer({
    path: controlSocketPath('bench', dir),
    logger: silentLogger(),
    handlers: controlHandlers({
      instance: 'bench',
      vrrp: undefined,
      virtualServers,
      reload: () => Promise.reject(new Error('no reload here')),
    }),
  });
  try {
    await server.start();
    const results: BenchResult[] = [];
    for (const rate of [false, true]) {
      const wall: number[] = [];
      const loop = new LoopMaxima();
      let reals = 0;
      for (let i = 0; i < RUNS; i++) {
        const run = await watchedCall(() =>
          requestStatus({ runDir: dir, instance: 'bench' }, rate ? { rate: true } : {}),
        );
        wall.push(run.wallMs);
        loop.add(run.loop);
        reals = run.result.services.reduce((n, s) => n + s.reals.length, 0);
      }
      results.push({
        name: rate ? 'status_large_rate' : 'status_large',
        services: SERVICES,
        reals,
        // --rate waits its one-second window on purpose.
        answerMsMedian: median(wall),
        maxLoopDelayMs: loop.maxDelay,
        maxRunBetweenTicksMs: loop.maxRun,
        ratioToLoopBudget: loop.maxDelay / 10,
      });
    }
    return results;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    await close();
  }
}
