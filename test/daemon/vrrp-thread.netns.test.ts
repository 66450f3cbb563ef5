/**
 * VRRP on a thread of its own (VrrpThread), as `lbctl up` runs it: a real
 * engine on raw sockets and netlink in a namespace, driven from the main
 * thread. What crosses the thread is checked end to end: the data plane's
 * health in (INIT until it forwards), state changes out, status, the
 * engine's counters, a reload (applied, and refused with its reasons), the
 * thread's scheduling, and a thread that stops on its own. Adverts keep
 * going while the main thread is held busy, which a VRRP sharing the main
 * thread could not do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { parseConfigText } from '../../src/config/load.js';
import { ReloadRefusedError } from '../../src/daemon/reload-refused.js';
import type { DataPlaneHealthSource } from '../../src/daemon/vrrp-service.js';
import { VrrpThread } from '../../src/daemon/vrrp-thread.js';
import type { DataPlaneHealth } from '../../src/dataplane/supervisor.js';
import { hasCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { runIn } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import type { VrrpState } from '../../src/vrrp/state.js';
import { SLOWDOWN } from '../support/slowdown.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const VIP = '10.74.0.100';

function config(ns: string, priority: number, dev = 'v0') {
  return parseConfigText(
    `global_defs {\n  lbctl_instance_name ${ns}\n}\n` +
      `vrrp_instance VI_1 {\n  interface ${dev}\n  virtual_router_id 74\n  state MASTER\n` +
      `  priority ${priority}\n  version 3\n  advert_int 0.1\n` +
      `  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n`,
    'keepalived.conf',
  ).config;
}

/** A thread running VI_1 at priority 200 (with the given code), and the failures it reports. */
function priority200Thread(ns: string, workerUrl?: URL): { thread: VrrpThread; failures: Error[] } {
  const failures: Error[] = [];
  const thread = new VrrpThread({
    config: config(ns, 200),
    logger: silentLogger(),
    log: { level: 'silent', format: 'json' },
    onFailure: (err) => failures.push(err),
    ...(workerUrl !== undefined && { workerUrl }),
  });
  return { thread, failures };
}

/** Health the test publishes, as the virtual servers' supervisor would. */
class TestHealth implements DataPlaneHealthSource {
  private current: DataPlaneHealth = { healthy: true, starting: true, interfaces: [], broken: [] };
  private readonly listeners = new Set<(health: DataPlaneHealth) => void>();
  onDataPlaneHealth(listener: (health: DataPlaneHealth) => void): () => void {
    this.listeners.add(listener);
    listener(this.current);
    return () => this.listeners.delete(listener);
  }
  publish(health: DataPlaneHealth): void {
    this.current = health;
    for (const listener of this.listeners) listener(health);
  }
}

describe('VRRP on a thread of its own', () => {
  const ns = uniqueName('lbvt');
  teardown(() => deleteNamespace(ns));
  const vipHeld = async () => {
    const { stdout } = await runIn(ns, 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'v0']);
    return stdout.includes(` ${VIP}/`);
  };

  it('follows the data plane, reports, reloads and keeps advertising while the main thread is busy', async () => {
    await createNamespace(ns);
    await createVethPair(
      { namespace: ns, name: 'v0', address: '10.74.0.1/24' },
      { namespace: ns, name: 'v1' },
    );
    const { thread, failures } = priority200Thread(ns);
    const health = new TestHealth();
    thread.trackDataPlane(health);
    const seen: [string, VrrpState][] = [];
    thread.onChange((instance, state) => seen.push([instance, state]));
    try {
      await withinNamespace(ns, () => thread.start());
      assert.equal(thread.state('VI_1'), 'INIT', 'waits in INIT while the data plane starts');
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(await vipHeld(), false);
      assert.equal((await thread.engineView())?.instances[0]?.counters.advertsSent, 0);

      health.publish({ healthy: true, interfaces: ['v0'], broken: [] });
      await waitFor('MASTER, heard from the thread', () => thread.state('VI_1') === 'MASTER', {
        timeoutMs: 5000 * SLOWDOWN,
      });
      assert.deepEqual(seen.at(-1), ['VI_1', 'MASTER']);
      assert.equal(await vipHeld(), true);
      const [status] = await thread.instanceStatus();
      assert.equal(status?.state, 'MASTER');
      assert.equal(status?.effectivePriority, 200);
      assert.ok(status?.lastTransition !== undefined);

      // A second of the main thread held busy: the thread's timers still run.
      const before = (await thread.engineView())?.instances[0]?.counters.advertsSent ?? 0;
      const spinUntil = Date.now() + 1000;
      while (Date.now() < spinUntil) {
        // the main thread does nothing else
      }
      const after = (await thread.engineView())?.instances[0]?.counters.advertsSent ?? 0;
      assert.ok(after > before, `adverts sent while the main thread was busy: ${after - before}`);
      assert.ok((await thread.loopDelay()).maxMs >= 0);

      // The thread's scheduling starts, reads and closes over there.
      await thread.scheduling.start();
      assert.deepEqual(await thread.scheduling.reading(), {
        realtimePriority: 0,
        realtimeDemotions: undefined,
      });

      // A reload the thread refuses crosses back with every reason.
      await assert.rejects(
        thread.planReload(config(ns, 150, 'nosuch0')),
        (err: unknown) =>
          err instanceof ReloadRefusedError &&
          err.details.some((d) => d.includes('interface nosuch0 does not exist')),
      );
      const plan = await thread.planReload(config(ns, 150));
      assert.match(plan.summary, /^VRRP: /);
      await plan.apply();
      const [reloaded] = await thread.instanceStatus();
      assert.equal(reloaded?.configuredPriority, 150);
      assert.equal(thread.state('VI_1'), 'MASTER', 'a changed priority keeps the state');

      await thread.scheduling.close();
      await thread.close();
      assert.equal(await vipHeld(), false, 'the master released its VIP at close');
      assert.deepEqual(await thread.instanceStatus(), []);
      assert.deepEqual(failures, []);
    } finally {
      await thread.close();
    }
  });

  it('stops the daemon when the thread ends on its own: FAULT to followers, its VIP removed at close', async () => {
    const { thread, failures } = priority200Thread(ns);
    const seen: VrrpState[] = [];
    thread.onChange((_instance, state) => seen.push(state));
    try {
      await withinNamespace(ns, () => thread.start());
      await waitFor('the VIP', vipHeld, { timeoutMs: 5000 * SLOWDOWN });
      assert.equal(thread.state('VI_1'), 'MASTER');
      // What an uncaught error in the thread comes to: the thread is gone, its VIP still held.
      await (thread as unknown as { worker: Worker }).worker.terminate();
      await waitFor('the failure reported', () => failures.length > 0, {
        timeoutMs: 5000 * SLOWDOWN,
      });
      assert.ok(hasCode(failures[0], 'VRRP_THREAD_STOPPED'), String(failures[0]));
      assert.equal(thread.state('VI_1'), 'FAULT');
      assert.equal(seen.at(-1), 'FAULT', 'followers heard FAULT');
      await assert.rejects(thread.loopDelay(), (err: unknown) =>
        hasCode(err, 'VRRP_THREAD_STOPPED'),
      );
      assert.equal(await vipHeld(), true, 'nothing released the VIP yet');
      await withinNamespace(ns, () => thread.close());
      assert.equal(await vipHeld(), false, 'close removed the VIP the thread held');
      assert.equal(failures.length, 1);
    } finally {
      await withinNamespace(ns, () => thread.close());
    }
  });

  it('takes a thread that stops turning its loop as gone, found by its heartbeat', async () => {
    const { thread, failures } = priority200Thread(
      ns,
      new URL('./support/hung-vrrp-thread.js', import.meta.url),
    );
    try {
      await withinNamespace(ns, () => thread.start());
      assert.equal(thread.state('VI_1'), 'MASTER');
      // The status request is the last thing the thread does: nothing asks after it.
      const status = thread.instanceStatus().then(
        () => undefined,
        (err: unknown) => err,
      );
      await waitFor('the heartbeat to miss its answer', () => failures.length > 0, {
        timeoutMs: 15_000 * SLOWDOWN,
      });
      assert.ok(hasCode(failures[0], 'VRRP_THREAD_STOPPED'), String(failures[0]));
      assert.match(String(failures[0]?.message), /did not answer (ping|status) within 10 s/);
      assert.ok(hasCode(await status, 'VRRP_THREAD_STOPPED'), 'the status request failed too');
      assert.equal(thread.state('VI_1'), 'FAULT');
    } finally {
      await withinNamespace(ns, () => thread.close());
    }
  });
});
