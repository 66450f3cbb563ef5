import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandSpec } from '../../src/vrrp/command.js';
import { instanceOptions, TestCluster } from './support/cluster.js';

const vi1 = (priority: number, extra = {}) =>
  instanceOptions({ name: 'VI_1', virtualRouterId: 51, priority, ...extra });
const vi2 = (priority: number, extra = {}) =>
  instanceOptions({
    name: 'VI_2',
    virtualRouterId: 52,
    priority,
    vips: [{ address: '192.168.1.203' }],
    ...extra,
  });

describe('sync groups', () => {
  function setup() {
    const c = new TestCluster();
    const calls: string[][] = [];
    const notifyRunner = async (spec: CommandSpec, args: readonly string[]) => {
      calls.push([spec.command, ...args]);
      return { exitCode: 0, signal: null, timedOut: false };
    };
    const group = [
      {
        name: 'VG_1',
        members: ['VI_1', 'VI_2'],
        notify: { generic: { command: '/bin/group-notify' } },
      },
    ];
    const a = c.add(
      'a',
      '10.0.0.1',
      [vi1(150), vi2(150, { trackInterfaces: [{ interface: 'eth1' }] })],
      { syncGroups: group, notifyRunner },
    );
    const b = c.add('b', '10.0.0.2', [vi1(100), vi2(100)], { syncGroups: group });
    a.engine.start();
    b.engine.start();
    c.clock.advance(5000);
    return { c, a, b, calls };
  }

  it('a member in FAULT takes the whole group to FAULT, and the peer takes over all', () => {
    const { c, a, b } = setup();
    assert.equal(c.state('a', 'VI_1'), 'MASTER');
    assert.equal(c.state('a', 'VI_2'), 'MASTER');
    a.links.set('eth1', false);
    assert.equal(c.state('a', 'VI_2'), 'FAULT');
    assert.equal(c.state('a', 'VI_1'), 'FAULT');
    assert.equal(a.effects.addresses.size, 0);
    assert.equal(a.engine.syncGroups[0]!.state, 'FAULT');
    c.clock.advance(1000);
    assert.equal(c.state('b', 'VI_1'), 'MASTER');
    assert.equal(c.state('b', 'VI_2'), 'MASTER');
    a.links.set('eth1', true);
    assert.equal(c.state('a', 'VI_1'), 'BACKUP');
    assert.equal(c.state('a', 'VI_2'), 'BACKUP');
    c.clock.advance(5000);
    assert.equal(c.state('a', 'VI_1'), 'MASTER');
    assert.equal(c.state('a', 'VI_2'), 'MASTER');
    assert.equal(c.state('b', 'VI_1'), 'BACKUP');
    // Each change is counted with its cause, as metrics report it.
    const causes = (node: typeof a, name: string) =>
      [...node.engine.instances.find((i) => i.name === name)!.counters.transitions.values()].map(
        (t) => `${t.from}>${t.to} ${t.cause} x${t.count}`,
      );
    assert.deepEqual(causes(a, 'VI_2'), [
      'INIT>BACKUP startup x1',
      'BACKUP>MASTER masterDown x2',
      'MASTER>FAULT trackDown x1',
      'FAULT>BACKUP trackUp x1',
    ]);
    assert.deepEqual(causes(a, 'VI_1').slice(2), [
      'MASTER>FAULT syncGroup x1',
      'FAULT>BACKUP syncGroup x1',
    ]);
    assert.ok(
      causes(b, 'VI_1').some((t) => /^MASTER>BACKUP (higherPriority|syncGroup) x1$/.test(t)),
    );
  });

  it('a member dropping to BACKUP takes the others out of MASTER', () => {
    const { c } = setup();
    // b's VI_2 adverts never reach a: a's VI_2 can only leave MASTER by following VI_1.
    c.network.filter = (packet, to) =>
      !(packet.from === 'b' && to === 'a' && packet.payload[1] === 52);
    for (const name of ['VI_1', 'VI_2']) {
      c.node('b').engine.instance(name).setContribution('test', { fault: false, delta: 100 });
    }
    c.clock.advance(5000);
    assert.equal(c.state('b', 'VI_1'), 'MASTER');
    assert.equal(c.state('b', 'VI_2'), 'MASTER');
    assert.equal(c.state('a', 'VI_1'), 'BACKUP');
    assert.equal(c.state('a', 'VI_2'), 'BACKUP');
    c.clock.advance(20_000);
    assert.equal(c.state('a', 'VI_2'), 'BACKUP', 'VI_2 alone cannot take the group to MASTER');
  });

  it('a member that may not preempt holds the whole group in BACKUP', () => {
    const { c } = setup();
    c.node('b').engine.instance('VI_1').setContribution('test', { fault: false, delta: 100 });
    c.clock.advance(20_000);
    assert.equal(c.state('b', 'VI_1'), 'BACKUP');
    assert.ok(c.node('b').engine.instance('VI_1').wantsMaster);
    assert.equal(c.state('a', 'VI_1'), 'MASTER');
  });

  it('the group goes MASTER only when every member timed out', () => {
    const c = new TestCluster();
    const group = [{ name: 'VG_1', members: ['VI_1', 'VI_2'] }];
    const b = c.add('b', '10.0.0.2', [vi1(100), vi2(200)], { syncGroups: group });
    b.engine.start();
    // VI_2 (priority 200) times out first at 3218.75 but waits for VI_1 (3609.375).
    c.clock.advance(3500);
    assert.equal(c.state('b', 'VI_2'), 'BACKUP');
    assert.ok(b.engine.instance('VI_2').wantsMaster);
    c.clock.advance(109.375 - 1);
    assert.equal(c.state('b', 'VI_1'), 'BACKUP');
    c.clock.advance(1);
    assert.equal(c.state('b', 'VI_1'), 'MASTER');
    assert.equal(c.state('b', 'VI_2'), 'MASTER');
  });

  it('runs the group notify with GROUP name STATE 0', () => {
    const { a, calls } = setup();
    a.links.set('eth1', false);
    const groupCalls = calls.filter((call) => call[1] === 'GROUP');
    assert.deepEqual(groupCalls.at(-1), ['/bin/group-notify', 'GROUP', 'VG_1', 'FAULT', '0']);
    assert.ok(groupCalls.some((call) => call[3] === 'MASTER'));
  });
});
