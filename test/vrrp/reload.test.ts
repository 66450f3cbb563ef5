import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/time/clock.js';
import type { VrrpEngineConfig } from '../../src/vrrp/engine.js';
import type { VrrpInstanceOptions } from '../../src/vrrp/options.js';
import type { StateChange } from '../../src/vrrp/state.js';
import { masterDownIntervalMs } from '../../src/vrrp/timing.js';
import { waitFor } from '../support/wait.js';
import { type TestCluster as Cluster, instanceOptions, TestCluster } from './support/cluster.js';

const vi1 = (extra: Partial<VrrpInstanceOptions> = {}) =>
  instanceOptions({ name: 'VI_1', virtualRouterId: 51, priority: 150, ...extra });
const vi2 = (extra: Partial<VrrpInstanceOptions> = {}) =>
  instanceOptions({
    name: 'VI_2',
    virtualRouterId: 52,
    priority: 150,
    vips: [{ address: '192.168.1.203', prefixLength: 24 }],
    ...extra,
  });

/** Director a (priority 150) and b (100) with VI_1 and VI_2, settled: a is MASTER of both. */
function pair(aInstances = [vi1(), vi2()], extra: Partial<VrrpEngineConfig> = {}) {
  const c = new TestCluster();
  const a = c.add('a', '10.0.0.1', aInstances, extra);
  // b has the same instances at priority 100.
  const b = c.add(
    'b',
    '10.0.0.2',
    aInstances.map((i) => ({ ...i, priority: 100 })),
  );
  const changes: StateChange[] = [];
  a.engine.onStateChange((change) => changes.push(change));
  a.engine.start();
  b.engine.start();
  c.clock.advance(5000);
  assert.equal(c.state('a', 'VI_1'), 'MASTER');
  assert.equal(c.state('b', 'VI_1'), 'BACKUP');
  changes.length = 0;
  return { c, a, b, changes, mark: c.clock.now() };
}

/** Adverts a node sent since `since`: VRID and priority of each. */
function adverts(c: Cluster, node: string, since: number) {
  return c.network
    .sentBy(node)
    .filter((p) => p.at >= since)
    .map((p) => ({ vrid: p.payload[1]!, priority: p.payload[2]! }));
}

function reload(c: Cluster, node: string, instances: VrrpInstanceOptions[], extra = {}) {
  const plan = c.node(node).engine.planReload({ instances, ...extra });
  assert.deepEqual(plan.problems, []);
  plan.apply();
  return plan;
}

describe('VRRP at reload (keepalived 2.2.7 semantics)', () => {
  it('leaves an unchanged instance alone while another one changes', () => {
    const { c, a, b, changes, mark } = pair();
    const backupDeadline = b.engine.instance('VI_1').masterDownDeadline;
    const plan = reload(c, 'a', [vi1(), vi2({ priority: 160 })]);
    assert.equal(plan.summary, '1 instance changed (VI_2), 0 added, 0 removed, 1 unchanged');
    // VI_1: no advert out of turn, no address event, same state; VI_2 adverts its new priority at once.
    assert.deepEqual(adverts(c, 'a', mark), [{ vrid: 52, priority: 160 }]);
    assert.deepEqual(
      a.effects.events.filter((e) => e.at >= mark),
      [],
    );
    assert.equal(b.engine.instance('VI_1').masterDownDeadline, backupDeadline);
    c.clock.advance(10_000);
    assert.deepEqual(changes, []);
    assert.equal(c.state('a', 'VI_1'), 'MASTER');
    assert.equal(c.state('a', 'VI_2'), 'MASTER');
    assert.ok(adverts(c, 'a', mark).every((ad) => ad.priority !== 0));
  });

  it('a MASTER whose priority drops below the backup keeps MASTER until the backup preempts', () => {
    const { c, a, changes, mark } = pair();
    reload(c, 'a', [vi1({ priority: 50 }), vi2()]);
    assert.equal(c.state('a', 'VI_1'), 'MASTER', 'state is kept across the reload');
    assert.deepEqual(adverts(c, 'a', mark), [{ vrid: 51, priority: 50 }]);
    assert.equal(a.engine.instance('VI_1').priority, 50);
    c.clock.advance(5000);
    // b ignores the lower-priority master, its down timer runs out, it takes over; a yields.
    assert.equal(c.state('b', 'VI_1'), 'MASTER');
    assert.equal(c.state('a', 'VI_1'), 'BACKUP');
    assert.deepEqual(
      changes.map((ch) => `${ch.instance} ${ch.from}->${ch.to} ${ch.cause}`),
      ['VI_1 MASTER->BACKUP higherPriority'],
    );
    assert.ok(!adverts(c, 'a', mark).some((ad) => ad.priority === 0), 'no priority-0 advert');
    assert.equal(c.state('a', 'VI_2'), 'MASTER');
  });

  it('a BACKUP restarts its master-down timer only when its priority or interval changed', () => {
    const { c, b } = pair();
    c.clock.advance(300); // between two adverts: the timer is part-way
    const deadline = () => b.engine.instance('VI_1').masterDownDeadline;
    const before = deadline();
    reload(c, 'b', [
      vi1({ priority: 100, notify: { master: { command: '/bin/true' } } }),
      vi2({ priority: 100 }),
    ]);
    assert.equal(deadline(), before, 'a notify change leaves the timer alone');
    reload(c, 'b', [vi1({ priority: 120 }), vi2({ priority: 100 })]);
    // Re-armed now with the master-down interval at the new priority (3 x 1 s + skew).
    assert.equal(deadline(), c.clock.now() + masterDownIntervalMs(2, 120, 1000));
    assert.equal(c.state('b', 'VI_1'), 'BACKUP');
  });

  it('a MASTER adds and removes only the addresses that changed, announcing the new ones', () => {
    const { c, a, mark } = pair([
      vi1({ vips: [{ address: '192.168.0.203' }, { address: '192.168.0.204' }] }),
      vi2(),
    ]);
    reload(c, 'a', [
      vi1({ vips: [{ address: '192.168.0.203' }, { address: '192.168.0.205' }] }),
      vi2(),
    ]);
    const since = (kind: Parameters<typeof a.effects.of>[0]) =>
      a.effects.of(kind, mark).map((e) => e.target);
    assert.deepEqual(since('remove-address'), ['192.168.0.204']);
    assert.deepEqual(since('add-address'), ['192.168.0.205']);
    assert.deepEqual([...new Set(since('garp'))], ['192.168.0.205']);
    assert.deepEqual([...a.effects.addresses.keys()].sort(), [
      '192.168.0.203',
      '192.168.0.205',
      '192.168.1.203',
    ]);
    assert.equal(c.state('a', 'VI_1'), 'MASTER');
    // The backup checks adverts against the addresses: it was reloaded with the same list.
    reload(c, 'b', [
      vi1({ priority: 100, vips: [{ address: '192.168.0.203' }, { address: '192.168.0.205' }] }),
      vi2({ priority: 100 }),
    ]);
    c.clock.advance(5000);
    assert.equal(c.state('b', 'VI_1'), 'BACKUP');
  });

  it('a removed MASTER sends priority 0 and releases its addresses; the peer takes over at once', () => {
    const { c, a, changes, mark } = pair();
    const plan = reload(c, 'a', [vi2()]);
    assert.equal(plan.summary, '0 instances changed, 0 added, 1 removed (VI_1), 1 unchanged');
    assert.deepEqual(adverts(c, 'a', mark), [{ vrid: 51, priority: 0 }]);
    assert.deepEqual(
      a.effects.of('remove-address', mark).map((e) => e.target),
      ['192.168.0.203'],
    );
    assert.deepEqual(
      changes.map((ch) => `${ch.instance} ${ch.to} ${ch.reason}`),
      ['VI_1 STOP removed by reload'],
    );
    assert.deepEqual(
      a.engine.instances.map((i) => i.name),
      ['VI_2'],
    );
    c.clock.advance(1000); // Skew_Time after priority 0, well under the master-down interval
    assert.equal(c.state('b', 'VI_1'), 'MASTER');
  });

  it('a new instance starts as at startup and its transitions reach engine listeners', () => {
    const { c, a, changes, mark } = pair([vi1()]);
    const vi3 = instanceOptions({
      name: 'VI_3',
      virtualRouterId: 53,
      priority: 120,
      vips: [{ address: '192.168.3.1' }],
    });
    reload(c, 'a', [vi1(), vi3]);
    assert.equal(c.state('a', 'VI_3'), 'BACKUP');
    c.clock.advance(4000); // nobody else has VRID 53
    assert.equal(c.state('a', 'VI_3'), 'MASTER');
    assert.deepEqual(
      changes.map((ch) => `${ch.instance} ${ch.from}->${ch.to}`),
      ['VI_3 INIT->BACKUP', 'VI_3 BACKUP->MASTER'],
    );
    assert.ok(a.effects.addresses.has('192.168.3.1'));
    assert.ok(!adverts(c, 'a', mark).some((ad) => ad.vrid === 51 && ad.priority !== 150));
  });

  it('a changed VRID is another instance: the old one stops, the new one starts', () => {
    const { c, changes, mark } = pair();
    reload(c, 'a', [vi1({ virtualRouterId: 61 }), vi2()]);
    assert.deepEqual(adverts(c, 'a', mark), [{ vrid: 51, priority: 0 }]);
    assert.deepEqual(
      changes.map((ch) => `${ch.instance} ${ch.from}->${ch.to}`),
      ['VI_1 MASTER->STOP', 'VI_1 INIT->BACKUP'],
    );
  });

  it('a changed tracked interface that is down puts a MASTER in FAULT and releases what it held', () => {
    const { c, a, mark } = pair();
    a.links.set('eth9', false);
    reload(c, 'a', [
      vi1({ trackInterfaces: [{ interface: 'eth9' }], vips: [{ address: '192.168.0.210' }] }),
      vi2(),
    ]);
    assert.equal(c.state('a', 'VI_1'), 'FAULT');
    assert.ok(!a.effects.addresses.has('192.168.0.203'));
    assert.ok(!a.effects.addresses.has('192.168.0.210'));
    assert.deepEqual(adverts(c, 'a', mark), [{ vrid: 51, priority: 0 }]);
    a.links.set('eth9', true);
    assert.equal(c.state('a', 'VI_1'), 'BACKUP');
  });

  it('a new sync group of a MASTER and a BACKUP steps the MASTER down; of two MASTERs stays MASTER', () => {
    const both = pair();
    reload(both.c, 'a', [vi1(), vi2()], {
      syncGroups: [{ name: 'VG', members: ['VI_1', 'VI_2'] }],
    });
    assert.equal(both.a.engine.syncGroups[0]!.state, 'MASTER');
    assert.deepEqual(both.changes, []);

    const mixed = pair();
    // First a's VI_2 loses to b, so a holds VI_1 as MASTER and VI_2 as BACKUP.
    reload(mixed.c, 'a', [vi1(), vi2({ priority: 50 })]);
    mixed.c.clock.advance(5000);
    assert.equal(mixed.c.state('a', 'VI_2'), 'BACKUP');
    const mark = mixed.c.clock.now();
    reload(mixed.c, 'a', [vi1(), vi2({ priority: 50 })], {
      syncGroups: [{ name: 'VG', members: ['VI_1', 'VI_2'] }],
    });
    assert.equal(mixed.c.state('a', 'VI_1'), 'BACKUP');
    assert.equal(mixed.a.engine.syncGroups[0]!.state, 'BACKUP');
    // Stepping down for the group releases the addresses without a priority-0 advert.
    assert.ok(!adverts(mixed.c, 'a', mark).some((ad) => ad.priority === 0));
    assert.ok(!mixed.a.effects.addresses.has('192.168.0.203'));
  });

  it('refuses a configuration it cannot apply and changes nothing', () => {
    const { c, a, mark } = pair();
    const duplicate = a.engine.planReload({
      instances: [vi1({ priority: 10 }), vi2({ virtualRouterId: 51 })],
    });
    assert.deepEqual(duplicate.problems, [
      'Cannot add VRRP instance VI_2: VRID 51 already used on eth0',
    ]);
    assert.throws(() => duplicate.apply(), /Cannot reload VRRP/);
    const group = a.engine.planReload({
      instances: [vi1({ priority: 10 }), vi2()],
      syncGroups: [{ name: 'VG', members: ['VI_1', 'VI_9'] }],
    });
    assert.deepEqual(group.problems, ['Cannot build sync group VG: no instance VI_9']);
    const missing = a.engine.planReload({
      instances: [vi1({ trackScripts: [{ name: 'chk_missing' }] }), vi2()],
    });
    assert.deepEqual(missing.problems, [
      'VRRP instance VI_1 tracks script chk_missing: no such vrrp_script',
    ]);
    assert.equal(a.engine.instance('VI_1').priority, 150);
    assert.deepEqual(adverts(c, 'a', mark), []);
  });

  it('a vrrp_script whose definition did not change keeps its state; a changed one starts afresh', async (t) => {
    // Real time: the script runs for real.
    const c = new TestCluster(systemClock);
    const script = (intervalMs: number) => ({
      name: 'chk_down',
      command: '/bin/false',
      intervalMs,
      timeoutMs: 1000,
      weight: -60,
      fall: 1,
      rise: 1,
    });
    const tracked = (priority: number) =>
      instanceOptions({ priority, trackScripts: [{ name: 'chk_down' }] });
    const a = c.add('a', '10.0.0.1', [tracked(100)], { scripts: [script(30)] });
    t.after(() => a.engine.stop());
    a.engine.start();
    const vi = () => a.engine.instance('VI_1');
    await waitFor('the script to fail', () => vi().priority === 40);
    // Same script, instance changed: the script's "down" carries over at once.
    const same = a.engine.planReload({ instances: [tracked(110)], scripts: [script(30)] });
    same.apply();
    assert.equal(vi().priority, 50);
    // A changed definition is a new script: it starts from its initial state (up) and fails again.
    const changed = a.engine.planReload({ instances: [tracked(110)], scripts: [script(40)] });
    assert.equal(changed.summary, '1 instance changed (VI_1), 0 added, 0 removed, 0 unchanged');
    changed.apply();
    assert.equal(vi().priority, 110);
    await waitFor('the new script to fail', () => vi().priority === 50);
  });
});
