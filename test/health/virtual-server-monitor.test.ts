import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CheckScheduler } from '../../src/checkers/scheduler.js';
import type { DesiredServiceState } from '../../src/health/desired-state.js';
import type { VirtualServerHealthOptions } from '../../src/health/options.js';
import { ProcessScriptRunner } from '../../src/health/script-runner.js';
import { VirtualServerMonitor } from '../../src/health/virtual-server-monitor.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/time/clock.js';
import { closeServer, listenLocal } from '../checkers/support/servers.js';
import { waitFor } from '../support/wait.js';

// Long enough that the slack below, which a loaded machine's scheduling eats
// into, is small beside what the bounds tell apart. A stopped real on
// loopback refuses at once: the connect timeout only guards a healthy one.
const TIMING = {
  delayLoopMs: 1_000,
  retry: 2,
  delayBeforeRetryMs: 250,
  warmupMs: 0,
  connectTimeoutMs: 5_000,
};
const SLACK_MS = 750;
// The longest a failure may take to show: the rest of a delay_loop, every retry, scheduling slack.
const DETECTION_BOUND_MS = TIMING.delayLoopMs + TIMING.retry * TIMING.delayBeforeRetryMs + SLACK_MS;
/** How long reach() waits before failing: the timing assertions after it are the real bounds. */
const REACH_TIMEOUT_MS = 15_000;

/** A TCP "real server" on 127.0.0.1 that can be stopped and started on the same port. */
class LocalReal {
  private server: net.Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = net.createServer((socket) => socket.destroy());
    this.server.listen(this.port, '127.0.0.1');
    if (this.port === 0) this.port = await listenLocal(this.server);
    else await new Promise((resolve) => this.server?.once('listening', resolve));
  }

  async stop(): Promise<void> {
    if (this.server !== undefined) await closeServer(this.server);
    this.server = undefined;
  }
}

/** Waits until the monitor's state satisfies `predicate`; returns how long that took. */
async function reach(
  monitor: VirtualServerMonitor,
  predicate: (state: DesiredServiceState) => boolean,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  await waitFor(
    () => `the state (now ${JSON.stringify(monitor.current())})`,
    () => predicate(monitor.current()),
    { timeoutMs, intervalMs: 5 },
  );
  return performance.now() - started;
}

const ports = (s: DesiredServiceState) => s.reals.filter((r) => r.weight > 0).map((r) => r.port);

describe('virtual server monitor with real TCP checks on loopback', () => {
  it('drops a stopped real within delay_loop + retries, falls back to the sorry server, and recovers', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'lbctl-monitor-'));
    const reals = [new LocalReal(), new LocalReal()];
    const scheduler = new CheckScheduler({ clock: systemClock });
    t.after(async () => {
      await scheduler.stop();
      for (const r of reals) await r.stop();
      await rm(dir, { recursive: true, force: true });
    });
    for (const r of reals) await r.start();
    const marker = join(dir, 'quorum-down');
    const options: VirtualServerHealthOptions = {
      name: '192.0.2.1:80',
      ...TIMING,
      sorryServer: { address: '127.0.0.1', port: 80, forwarding: 'dr' },
      quorumDown: { command: `/usr/bin/touch ${marker}` },
      reals: reals.map((r) => ({
        address: '127.0.0.1',
        port: r.port,
        forwarding: 'dr' as const,
        checkers: [{ type: 'TCP_CHECK' }],
      })),
    };
    const monitor = new VirtualServerMonitor(options, {
      scheduler,
      scripts: new ProcessScriptRunner(silentLogger()),
    });
    t.after(() => monitor.close());
    scheduler.start();
    const [a, b] = reals as [LocalReal, LocalReal];
    assert.deepEqual(ports(monitor.current()), [a.port, b.port]);

    await a.stop();
    const tookA = await reach(monitor, (s) => ports(s).length === 1, REACH_TIMEOUT_MS);
    assert.deepEqual(ports(monitor.current()), [b.port]);
    assert.ok(tookA <= DETECTION_BOUND_MS, `detected in ${tookA} ms`);
    assert.ok(tookA >= TIMING.retry * TIMING.delayBeforeRetryMs - 10, 'not before the retries');

    await b.stop();
    await reach(monitor, (s) => s.sorry !== undefined, REACH_TIMEOUT_MS);
    assert.deepEqual(monitor.current(), {
      reals: [],
      sorry: { address: '127.0.0.1', port: 80, forwarding: 'dr', weight: 1 },
      quorumUp: false,
    });
    await monitor.health.scriptsSettled();
    await readFile(marker); // quorum_down ran as a real process

    await a.start();
    const back = await reach(monitor, (s) => s.sorry === undefined, REACH_TIMEOUT_MS);
    assert.deepEqual(ports(monitor.current()), [a.port]);
    assert.ok(
      back <= TIMING.delayLoopMs + SLACK_MS,
      `returned in ${back} ms: one success is enough`,
    );
  });

  it('with ha_suspend keeps the state while suspended and checks again on resume', async (t) => {
    const real = new LocalReal();
    const scheduler = new CheckScheduler({ clock: systemClock });
    t.after(async () => {
      await scheduler.stop();
      await real.stop();
    });
    await real.start();
    const monitor = new VirtualServerMonitor(
      {
        name: 'vs',
        ...TIMING,
        haSuspend: true,
        reals: [
          {
            address: '127.0.0.1',
            port: real.port,
            forwarding: 'dr',
            checkers: [{ type: 'TCP_CHECK' }],
          },
        ],
      },
      { scheduler, scripts: new ProcessScriptRunner(silentLogger()) },
    );
    t.after(() => monitor.close());
    scheduler.start();
    monitor.suspend();
    assert.equal(monitor.isSuspended, true);
    await real.stop();
    await new Promise((resolve) => setTimeout(resolve, DETECTION_BOUND_MS * 2));
    assert.deepEqual(ports(monitor.current()), [real.port], 'no checks ran while suspended');
    monitor.resume();
    const took = await reach(monitor, (s) => s.reals.length === 0, REACH_TIMEOUT_MS);
    assert.ok(took <= DETECTION_BOUND_MS + TIMING.delayLoopMs, `detected in ${took} ms`);
  });

  it('empties the service on close', async (t) => {
    const scheduler = new CheckScheduler({ clock: systemClock });
    t.after(() => scheduler.stop());
    const monitor = new VirtualServerMonitor(
      {
        name: 'vs',
        ...TIMING,
        reals: [{ address: '127.0.0.1', port: 1, forwarding: 'dr', checkers: [] }],
      },
      { scheduler, scripts: new ProcessScriptRunner(silentLogger()) },
    );
    assert.deepEqual(monitor.current().reals.length, 1, 'a real without checkers is alive');
    assert.deepEqual(await monitor.close(), { reals: [], quorumUp: false });
  });
});
