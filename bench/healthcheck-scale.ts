import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { HttpGetChecker } from '../src/checkers/http-get-check.js';
import { Http10Request, type Http10Response } from '../src/checkers/http10-request.js';
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
  /** HTTP_GET (HTTP/1.0, status only) as it is: the prober's exchange. */
  readonly httpCpuMsPer1000Checks: number;
  /** The same HTTP_GETs through Http10Request over a Node socket (the path digests and SSL_GET take). */
  readonly httpNodeSocketCpuMsPer1000Checks: number;
  readonly httpCpuRatioToNodeSocket: number;
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

/**
 * The listeners, in a process of their own: their accept cost is not the
 * checker's. A connection that sends a request gets a short HTTP/1.0 answer.
 */
const LISTENERS_SCRIPT = `
const net = require('node:net');
let up = 0;
for (let i = 0; i < ${LISTENERS}; i++) {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end('HTTP/1.0 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\nok\\n'));
  });
  server.on('error', () => {});
  server.listen(0, '127.0.0.1', 511, () => {
    console.log(server.address().port);
    if (++up === ${LISTENERS}) console.log('ready');
  });
}
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** A check as it ran before the prober, through a Node socket. */
abstract class NodeSocketArm implements Checker {
  abstract readonly kind: Checker['kind'];
  readonly target: string;
  readonly timeoutMs: number;
  constructor(protected readonly options: ConnectOptions) {
    this.target = `${options.connectIp}:${options.connectPort}`;
    this.timeoutMs = options.connectTimeoutMs;
  }
  abstract check(signal: AbortSignal): Promise<CheckResult>;
}

/** TCP_CHECK as it connected before: a Node socket, destroyed once connected. */
class NodeSocketChecker extends NodeSocketArm {
  readonly kind = 'TCP_CHECK';
  async check(signal: AbortSignal): Promise<CheckResult> {
    (await connectTcp(this.options, signal)).destroy();
    return { ok: true };
  }
}

/** HTTP_GET's url through Http10Request over a Node socket, the status checked, the body read. */
class NodeSocketHttpChecker extends NodeSocketArm {
  readonly kind = 'HTTP_GET';
  check(signal: AbortSignal): Promise<CheckResult> {
    return new Promise((resolve, reject) => {
      const request = new Http10Request({
        host: this.options.connectIp,
        port: this.options.connectPort,
        path: '/',
        headers: [
          ['User-Agent', 'lbctl-healthcheck'],
          ['Host', this.target],
        ],
      });
      const onAbort = () => {
        request.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      request.on('error', reject);
      request.on('response', (response: Http10Response) => {
        response.on('error', reject);
        response.resume();
        response.on('end', () => {
          signal.removeEventListener('abort', onAbort);
          request.destroy();
          resolve({ ok: response.statusCode === 200 });
        });
      });
      request.end();
    });
  }
}

const ARMS = {
  native: (o: ConnectOptions): Checker => new TcpChecker(o),
  nodeSocket: (o: ConnectOptions): Checker => new NodeSocketChecker(o),
  http: (o: ConnectOptions): Checker => new HttpGetChecker({ ...o, urls: [{ path: '/' }] }),
  httpNodeSocket: (o: ConnectOptions): Checker => new NodeSocketHttpChecker(o),
};

type Arm = keyof typeof ARMS;

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
      checker: counting(ARMS[arm](options)),
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
 * until 5,000 checks completed (or 15 s). Four arms alternated run by run:
 * TCP_CHECK and HTTP_GET (HTTP/1.0, status only) as they are (the addon's
 * TcpProber), and each through a Node socket per check.
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
    const runs: Record<Arm, Run[]> = { native: [], nodeSocket: [], http: [], httpNodeSocket: [] };
    for (let i = 0; i < RUNS_PER_ARM; i++) {
      for (const arm of Object.keys(ARMS) as Arm[]) runs[arm].push(await runArm(arm, ports));
    }
    const cpu = (arm: Arm) => median(runs[arm].map((r) => r.cpuMsPer1000));
    const cpuMsPer1000Checks = cpu('native');
    const nodeSocketCpuMsPer1000Checks = cpu('nodeSocket');
    const all = Object.values(runs).flat();
    return {
      name: 'healthcheck_scale',
      cpuMsPer1000Checks,
      nodeSocketCpuMsPer1000Checks,
      cpuRatioToNodeSocket: cpuMsPer1000Checks / nodeSocketCpuMsPer1000Checks,
      httpCpuMsPer1000Checks: cpu('http'),
      httpNodeSocketCpuMsPer1000Checks: cpu('httpNodeSocket'),
      httpCpuRatioToNodeSocket: cpu('http') / cpu('httpNodeSocket'),
      checks: Math.min(...all.map((r) => r.checks)),
      scheduledChecks: SCHEDULED_CHECKS,
      listeners: LISTENERS,
      runsPerArm: RUNS_PER_ARM,
      failures: all.reduce((sum, r) => sum + r.failures, 0),
    };
  } finally {
    child.stdin?.end();
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
}
