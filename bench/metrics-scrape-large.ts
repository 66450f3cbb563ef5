/**
 * metrics_scrape_large: Prometheus scrapes of a director with 1,000 virtual
 * servers × 32 reals, one TCP check each (about 230,000 series: per
 * service, per real, per check), with the data plane applied and the
 * connection table counted. Reports the scrape's wall time and body, and
 * the longest the event loop was held meanwhile, against VRRP's 10 ms
 * budget (docs/metrics.md, "Cost of a scrape").
 */
import { request } from 'node:http';
import type { ServiceKey } from '../src/dataplane/dataplane.js';
import { silentLogger } from '../src/log.js';
import { MetricsService } from '../src/metrics/metrics-service.js';
import type { VirtualServerState } from '../src/metrics/sources.js';
import type { DesiredService } from '../src/reconcile/desired-services.js';
import { openLargePlane } from './large-plane.js';
import { LoopMaxima, watchedCall } from './loop-watch.js';
import { SERVICES } from './reconcile-large.js';
import type { BenchResult } from './result.js';
import { median } from './stats.js';

const SCRAPES = 5;

/** What a health source reports for the site: every real alive, one TCP_CHECK up. */
function virtualServers(site: readonly DesiredService[]): VirtualServerState[] {
  return site.map(({ spec, reals }) => {
    const key: ServiceKey = { vip: spec.vip, port: spec.port, protocol: spec.protocol };
    return {
      name: `TCP ${spec.vip}:${spec.port}`,
      services: [key],
      state: { reals: reals.map((r) => ({ ...r })), quorumUp: true },
      reals: reals.map((r) => ({
        address: r.address,
        port: r.port,
        alive: true,
        checks: [{ index: 0, type: 'TCP_CHECK', up: true, changedAtMs: 1_700_000_000_000 }],
      })),
      suspended: false,
    };
  });
}

/** One scrape: its body's size and line count. */
function scrape(port: number): Promise<{ bytes: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let bytes = 0;
      let lines = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve({ bytes, lines }) : reject(new Error(`${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function metricsScrapeLarge(): Promise<BenchResult> {
  const { plane, site, close } = await openLargePlane('scrape');
  const health = virtualServers(site);
  const metrics = new MetricsService(
    '127.0.0.1:0',
    { vrrp: () => undefined, dataPlane: () => plane, virtualServers: () => health },
    silentLogger(),
  );
  try {
    await metrics.start();
    const wall: number[] = [];
    const loop = new LoopMaxima();
    let body = { bytes: 0, lines: 0 };
    for (let i = 0; i < SCRAPES; i++) {
      const run = await watchedCall(() => scrape(metrics.port ?? 0));
      body = run.result;
      wall.push(run.wallMs);
      loop.add(run.loop);
    }
    return {
      name: 'metrics_scrape_large',
      services: SERVICES,
      series: body.lines,
      bodyMb: body.bytes / 2 ** 20,
      scrapeMsMedian: median(wall),
      scrapeMsMax: Math.max(...wall),
      maxLoopDelayMs: loop.maxDelay,
      maxRunBetweenTicksMs: loop.maxRun,
      ratioToLoopBudget: loop.maxDelay / 10,
    };
  } finally {
    await metrics.close();
    await close();
  }
}
