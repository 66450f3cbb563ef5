import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { CheckScheduler } from '../src/checkers/scheduler.js';
import { TcpChecker } from '../src/checkers/tcp-check.js';
import { connectTcp } from '../src/checkers/tcp-connect.js';
import type { Checker, CheckResult, ConnectOptions } from '../src/checkers/types.js';
import { systemClock } from '../src/time/clock.js';
import { median } from './stats.js';

export type HealthcheckScaleResult = {
  readonly name: 'healthcheck_scale';
  /** User + system CPU of this process (all threads) per 1,000 completed TCP_CHECKs: median of the runs. */
  readonly cpuMsPer1000Checks: number;
  /** The same checks, each through a Node net.Socket (what TCP_CHECK did before the native prober). */
  readonly nodeSocketCpuMsPer1000Checks: number;
  /** cpuMsPer1000Checks / nodeSocketCpuMsPer1000Checks, from the same run. */
  readonly cpuRatioToNodeSocket: number;
  readonly checks: number;
  readonly scheduledChecks: number;
  readonly listeners: number;
  readonly runsPerArm: number;
  readonly failures: number;
};

const LISTENERS = 8;
const SCHEDULED_CHECKS = 1_000;
const DELAY_LOOP_MS = 250;
const TARGET_CHECKS = 5_000;
const MAX_WALL_MS = 15_000;
const RUNS_PER_ARM = 3;

/** The listeners, in a process of their own: their accept cost is not the checker's. */
const LISTENERS_SCRIPT = `
const net = require('node:net');
let up = 0;
for (let i = 0; i < ${LISTENERS}; i++) {
  const server = net.createServer((socket) => socket.destroy());
  server.on('error', () => {});
  server.listen(0, '127.0.0.1', 511, () => {
    console.log(server.address().port);
    if (++up === ${LISTENERS}) console.log('ready');
  });
}
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** TCP_CHECK as it connected before: a Node socket, destroyed once connected. */
class NodeSocketChecker implements Checker {
  readonly kind = 'TCP_CHECK';
  readonly target: string;
  readonly timeoutMs: number;
  constructor(private readonly options: ConnectOptions) {
    this.target = `${options.connectIp}:${options.connectPort}`;
    this.timeoutMs = options.connectTimeoutMs;
  }
  async check(signal: AbortSignal): Promise<CheckResult> {
    (await connectTcp(this.options, signal)).destroy();
    return { ok: true };
  }
}

type Arm = 'native' | 'nodeSocket';

interface Run {
  readonly cpuMsPer1000: number;
  readonly checks: number;
  readonly failures: number;
}

async function runArm(arm: Arm, ports: readonly number[]): Promise<Run> {
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
    const port = ports[i % ports.length] as number;
    const options = { connectIp: '127.0.0.1', connectPort: port, connectTimeoutMs: 2_000 };
    scheduler.add({
      id: `bench-${i}`,
      real: `127.0.0.1:${port}`,
      checker: counting(
        arm === 'native' ? new TcpChecker(options) : new NodeSocketChecker(options),
      ),
      delayLoopMs: DELAY_LOOP_MS,
      retry: 1,
      delayBeforeRetryMs: DELAY_LOOP_MS,
      warmupMs: DELAY_LOOP_MS,
      alpha: false,
    });
  }
  const cpuBefore = process.cpuUsage();
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
  await scheduler.stop();
  const cpuMs = (cpu.user + cpu.system) / 1_000;
  return {
    cpuMsPer1000: checks === 0 ? Number.NaN : (cpuMs / checks) * 1_000,
    checks,
    failures: failed,
  };
}

/**
 * CPU cost of TCP health checking at scale: 1,000 scheduled TCP_CHECKs on one
 * scheduler against listeners on 127.0.0.1 (in a child process), each run
 * until 5,000 checks completed (or 15 s). Two arms alternated run by run:
 * TCP_CHECK as it is (the addon's TcpProber) and through a Node socket per check.
 */
export async function healthcheckScale(): Promise<HealthcheckScaleResult> {
  const child = spawn(process.execPath, ['-e', LISTENERS_SCRIPT], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const ports: number[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'ready') break;
      ports.push(Number(line));
    }
    if (ports.length !== LISTENERS)
      throw new Error('healthcheck_scale: the listeners did not start');
    const runs: Record<Arm, Run[]> = { native: [], nodeSocket: [] };
    for (let i = 0; i < RUNS_PER_ARM; i++) {
      for (const arm of ['nodeSocket', 'native'] as const) runs[arm].push(await runArm(arm, ports));
    }
    const cpuMsPer1000Checks = median(runs.native.map((r) => r.cpuMsPer1000));
    const nodeSocketCpuMsPer1000Checks = median(runs.nodeSocket.map((r) => r.cpuMsPer1000));
    const all = [...runs.native, ...runs.nodeSocket];
    return {
      name: 'healthcheck_scale',
      cpuMsPer1000Checks,
      nodeSocketCpuMsPer1000Checks,
      cpuRatioToNodeSocket: cpuMsPer1000Checks / nodeSocketCpuMsPer1000Checks,
      checks: Math.min(...all.map((r) => r.checks)),
      scheduledChecks: SCHEDULED_CHECKS,
      listeners: LISTENERS,
      runsPerArm: RUNS_PER_ARM,
      failures: all.reduce((sum, r) => sum + r.failures, 0),
    };
  } finally {
    child.stdin?.end();
    if (child.exitCode === null) await once(child, 'exit');
  }
}
