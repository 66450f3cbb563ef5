import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SupervisionReport } from '../../src/dataplane/supervision.js';
import { type DataPlaneHealth, DataPlaneSupervisor } from '../../src/dataplane/supervisor.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from '../../src/time/fake-clock.js';
import type { CommandSpec } from '../../src/vrrp/command.js';
import type { StateChange } from '../../src/vrrp/state.js';
import { electedPair, instanceOptions, TestCluster } from '../vrrp/support/cluster.js';

/** A data plane whose next check reports what the test says. */
class ScriptedPlane {
  report: SupervisionReport = { interfaces: ['eth0'], restored: [], broken: [] };
  supervise(): SupervisionReport {
    return this.report;
  }
}

describe('data-plane supervision', () => {
  it('checks every second, counts restores, and publishes health changes only', () => {
    const clock = new FakeClock(0);
    const plane = new ScriptedPlane();
    const supervisor = new DataPlaneSupervisor(plane, clock, silentLogger());
    const seen: DataPlaneHealth[] = [];
    supervisor.onHealth((h) => seen.push(h));
    supervisor.start();
    clock.advance(3000);
    assert.equal(supervisor.counters.checks, 4);
    assert.equal(seen.length, 1, 'the initial health only: nothing changed');
    plane.report = {
      interfaces: ['eth0'],
      restored: ['XDP link on eth0 had been detached: attached again'],
      broken: [],
    };
    clock.advance(1000);
    assert.equal(supervisor.counters.restored, 1);
    assert.equal(seen.length, 1, 'restored in time: still healthy');
    plane.report = {
      interfaces: ['eth0'],
      restored: [],
      broken: [{ interface: 'eth0', reason: 'another XDP program is attached' }],
    };
    clock.advance(1000);
    clock.advance(1000);
    assert.deepEqual(seen.at(-1), {
      healthy: false,
      interfaces: ['eth0'],
      broken: [{ interface: 'eth0', reason: 'another XDP program is attached' }],
    });
    assert.equal(seen.length, 2);
    assert.equal(supervisor.counters.failedChecks, 2);
    plane.report = { interfaces: ['eth0'], restored: [], broken: [] };
    clock.advance(1000);
    assert.equal(seen.at(-1)?.healthy, true);
    supervisor.close();
    clock.advance(5000);
    assert.equal(supervisor.counters.checks, 8, 'no check after close');
  });

  it('a check that throws is an unhealthy data plane, not a crash', () => {
    const supervisor = new DataPlaneSupervisor(
      {
        supervise: () => {
          throw new Error('handle closed');
        },
      },
      new FakeClock(0),
      silentLogger(),
    );
    assert.equal(supervisor.check().healthy, false);
  });
});

describe('the data plane as a VRRP tracked object', () => {
  const broken = (iface: string) => ({
    interfaces: ['eth0', 'eth1'],
    broken: [{ interface: iface }],
  });

  it('puts an instance it serves in FAULT (VIPs released) and lets it rejoin when healthy', () => {
    const { c, a } = electedPair();
    assert.equal(c.state('a'), 'MASTER');
    // Broken on an interface the instance does not use: no effect.
    a.engine.setDataPlaneHealth(broken('eth1'));
    assert.equal(c.state('a'), 'MASTER');
    a.engine.setDataPlaneHealth(broken('eth0'));
    assert.equal(c.state('a'), 'FAULT');
    assert.equal(a.effects.addresses.size, 0);
    c.clock.advance(5000);
    assert.equal(c.state('b'), 'MASTER');
    a.engine.setDataPlaneHealth({ interfaces: ['eth0', 'eth1'], broken: [] });
    assert.equal(c.state('a'), 'BACKUP');
    c.clock.advance(4000);
    assert.equal(c.state('a'), 'MASTER');
  });

  const STARTING = { starting: true, interfaces: [], broken: [] };

  it('while it starts, even the address owner stays in INIT (no advert, VIP or notify), then starts once', async () => {
    const c = new TestCluster();
    const b = c.add('b', '10.0.0.2', [instanceOptions({ priority: 100 })]);
    b.engine.start();
    c.clock.advance(5000);
    assert.equal(c.state('b'), 'MASTER');
    const notified: string[][] = [];
    const notifyRunner = async (spec: CommandSpec, args: readonly string[]) => {
      notified.push([spec.command, ...args]);
      return { exitCode: 0, signal: null, timedOut: false };
    };
    const a = c.add(
      'a',
      '10.0.0.1',
      [
        instanceOptions({
          priority: 255,
          initialState: 'MASTER',
          notify: { generic: { command: '/bin/notify' } },
        }),
      ],
      { notifyRunner },
    );
    const changes: StateChange[] = [];
    a.engine.onStateChange((change) => changes.push(change));
    a.engine.setDataPlaneHealth(STARTING);
    a.engine.start();
    c.clock.advance(10_000);
    await a.engine.notifier.settle();
    assert.equal(c.state('a'), 'INIT');
    assert.equal(changes.length, 0, 'no transition while held');
    assert.deepEqual(notified, [], 'no notify while held');
    assert.equal(a.effects.addresses.size, 0);
    assert.equal(c.network.sentBy('a').length, 0, 'no advert: the peer keeps the VIP meanwhile');
    assert.equal(c.state('b'), 'MASTER');
    a.engine.setDataPlaneHealth({ interfaces: ['eth0'], broken: [] });
    assert.equal(c.state('a'), 'MASTER');
    assert.deepEqual(
      changes.map((change) => [change.from, change.to, change.reason]),
      [['INIT', 'MASTER', 'address owner (priority 255) starting']],
    );
    await a.engine.notifier.settle();
    assert.deepEqual(notified, [['/bin/notify', 'INSTANCE', 'VI_1', 'MASTER', '255']]);
    c.clock.advance(1000);
    assert.equal(c.state('b'), 'BACKUP');
  });

  it('a sync group is held whole and starts whole once the data plane is ready', () => {
    const c = new TestCluster();
    const a = c.add(
      'a',
      '10.0.0.1',
      [
        instanceOptions({ name: 'VI_1', virtualRouterId: 51 }),
        instanceOptions({ name: 'VI_2', virtualRouterId: 52, vips: [{ address: '10.1.0.1' }] }),
      ],
      { syncGroups: [{ name: 'VG', members: ['VI_1', 'VI_2'] }] },
    );
    a.engine.setDataPlaneHealth(STARTING);
    a.engine.start();
    c.clock.advance(5000);
    assert.deepEqual([c.state('a', 'VI_1'), c.state('a', 'VI_2')], ['INIT', 'INIT']);
    assert.equal(a.engine.syncGroups[0]?.state, 'INIT');
    a.engine.setDataPlaneHealth({ interfaces: [], broken: [] });
    assert.deepEqual([c.state('a', 'VI_1'), c.state('a', 'VI_2')], ['BACKUP', 'BACKUP']);
    c.clock.advance(5000);
    assert.deepEqual([c.state('a', 'VI_1'), c.state('a', 'VI_2')], ['MASTER', 'MASTER']);
    assert.equal(a.effects.addresses.size, 2);
  });

  it('a data plane found broken at its first check starts the instance in FAULT', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [instanceOptions({ priority: 150 })]);
    const changes: StateChange[] = [];
    a.engine.onStateChange((change) => changes.push(change));
    a.engine.setDataPlaneHealth(STARTING);
    a.engine.start();
    assert.equal(c.state('a'), 'INIT');
    a.engine.setDataPlaneHealth({ interfaces: ['eth0'], broken: [{ interface: 'eth0' }] });
    assert.deepEqual(
      changes.map((change) => [change.from, change.to, change.reason]),
      [['INIT', 'FAULT', 'tracked object down at startup']],
    );
    c.clock.advance(5000);
    assert.equal(c.state('a'), 'FAULT');
    a.engine.setDataPlaneHealth({ interfaces: ['eth0'], broken: [] });
    assert.equal(c.state('a'), 'BACKUP');
    c.clock.advance(5000);
    assert.equal(c.state('a'), 'MASTER');
  });

  it('stops while held without an advert, and holds instances a reload adds meanwhile', async () => {
    const c = new TestCluster();
    const owner = instanceOptions({
      priority: 255,
      initialState: 'MASTER',
      notify: { stop: { command: '/bin/notify-stop' } },
    });
    const notified: string[] = [];
    const notifyRunner = async (spec: CommandSpec) => {
      notified.push(spec.command);
      return { exitCode: 0, signal: null, timedOut: false };
    };
    const a = c.add('a', '10.0.0.1', [owner], { notifyRunner });
    a.engine.setDataPlaneHealth(STARTING);
    a.engine.start();
    const plan = a.engine.planReload({
      instances: [owner, instanceOptions({ name: 'VI_2', virtualRouterId: 52 })],
    });
    assert.deepEqual(plan.problems, []);
    plan.apply();
    c.clock.advance(5000);
    assert.deepEqual([c.state('a', 'VI_1'), c.state('a', 'VI_2')], ['INIT', 'INIT']);
    await a.engine.stop();
    assert.deepEqual([c.state('a', 'VI_1'), c.state('a', 'VI_2')], ['STOP', 'STOP']);
    assert.equal(c.network.sentBy('a').length, 0, 'nothing to give up: no priority-0 advert');
    assert.equal(a.effects.addresses.size, 0);
    // keepalived's shutdown notifies STOP for every instance, started or not.
    assert.deepEqual(notified, ['/bin/notify-stop']);
    // A reloaded engine released later starts every instance it holds.
    const d = c.add('d', '10.0.0.4', [owner]);
    d.engine.setDataPlaneHealth(STARTING);
    d.engine.start();
    const added = d.engine.planReload({
      instances: [owner, instanceOptions({ name: 'VI_2', virtualRouterId: 52 })],
    });
    added.apply();
    d.engine.setDataPlaneHealth({ interfaces: ['eth0'], broken: [] });
    assert.deepEqual([c.state('d', 'VI_1'), c.state('d', 'VI_2')], ['MASTER', 'BACKUP']);
  });

  it('an instance sharing no interface with the data plane follows its overall health', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [instanceOptions({ priority: 150 })]);
    a.engine.start();
    a.engine.setDataPlaneHealth({ interfaces: ['ext0'], broken: [] });
    assert.equal(c.state('a'), 'BACKUP');
    a.engine.setDataPlaneHealth({ interfaces: ['ext0'], broken: [{ interface: 'ext0' }] });
    assert.equal(c.state('a'), 'FAULT');
  });
});
