import net from 'node:net';
import { CheckScheduler } from '../src/checkers/scheduler.js';
import { TcpChecker } from '../src/checkers/tcp-check.js';
import type { Checker, CheckResult } from '../src/checkers/types.js';
import { systemClock } from '../src/time/clock.js';

export type HealthcheckScaleResult = {
  readonly name: 'healthcheck_scale';
  /** User + system CPU of this process per 1,000 completed TCP checks (listeners included). */
  readonly cpuMsPer1000Checks: number;
  readonly checks: number;
  readonly scheduledChecks: number;
  readonly listeners: number;
  readonly wallMs: number;
  readonly failures: number;
};

const LISTENERS = 8;
const SCHEDULED_CHECKS = 1_000;
const DELAY_LOOP_MS = 250;
const TARGET_CHECKS = 5_000;
const MAX_WALL_MS = 15_000;

/**
 * CPU cost of TCP health checking at scale: 1,000 scheduled TCP_CHECKs on one
 * scheduler against listeners on 127.0.0.1, run until 5,000 checks completed
 * (or 15 s). The listeners live in this process, so their accept cost counts too.
 */
export async function healthcheckScale(): Promise<HealthcheckScaleResult> {
  const servers = await Promise.all(
    Array.from({ length: LISTENERS }, async () => {
      const server = net.createServer((socket) => socket.destroy());
      server.on('error', () => {});
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
      return server;
    }),
  );
  let completed = 0;
  let failures = 0;
  let reached: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const counting = (inner: Checker): Checker => ({
    kind: inner.kind,
    target: inner.target,
    timeoutMs: inner.timeoutMs,
    async check(signal: AbortSignal): Promise<CheckResult> {
      try {
        const result = await inner.check(signal);
        if (!result.ok) failures++;
        return result;
      } catch (err) {
        failures++;
        throw err;
      } finally {
        if (++completed === TARGET_CHECKS) reached();
      }
    },
  });

  const scheduler = new CheckScheduler({ clock: systemClock, concurrency: 256 });
  for (let i = 0; i < SCHEDULED_CHECKS; i++) {
    const server = servers[i % LISTENERS] as net.Server;
    const port = (server.address() as net.AddressInfo).port;
    scheduler.add({
      id: `bench-${i}`,
      real: `127.0.0.1:${port}`,
      checker: counting(
        new TcpChecker({ connectIp: '127.0.0.1', connectPort: port, connectTimeoutMs: 2_000 }),
      ),
      delayLoopMs: DELAY_LOOP_MS,
      retry: 1,
      delayBeforeRetryMs: DELAY_LOOP_MS,
      warmupMs: DELAY_LOOP_MS,
      alpha: false,
    });
  }

  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  scheduler.start();
  let limit: NodeJS.Timeout | undefined;
  await Promise.race([
    done,
    new Promise<void>((resolve) => {
      limit = setTimeout(resolve, MAX_WALL_MS);
    }),
  ]);
  clearTimeout(limit);
  const checks = completed;
  // Read now: stopping the scheduler aborts the checks still in flight (up to
  // its concurrency), which would count as failures.
  const failed = failures;
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - wallBefore;
  await scheduler.stop();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));

  const cpuMs = (cpu.user + cpu.system) / 1_000;
  return {
    name: 'healthcheck_scale',
    cpuMsPer1000Checks: checks === 0 ? Number.NaN : (cpuMs / checks) * 1_000,
    checks,
    scheduledChecks: SCHEDULED_CHECKS,
    listeners: LISTENERS,
    wallMs,
    failures: failed,
  };
}
