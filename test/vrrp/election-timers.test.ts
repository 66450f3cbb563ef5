import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VRRP_MULTICAST_IPV4 } from '../../src/vrrp/io.js';
import { decodeAdvert, encodeAdvert } from '../../src/vrrp/packet.js';
import { masterDownIntervalMs, skewTimeMs } from '../../src/vrrp/timing.js';
import { instanceOptions, TestCluster } from './support/cluster.js';

/** Moves the fake clock to absolute time `t`. */
function advanceTo(cluster: TestCluster, t: number): void {
  cluster.clock.advance(t - cluster.clock.now());
}

/** Checks the state 1 ms before `deadline` and at it. */
function assertEdge(
  cluster: TestCluster,
  node: string,
  deadline: number,
  before: string,
  after: string,
): void {
  advanceTo(cluster, deadline - 1);
  assert.equal(cluster.state(node), before, `${node} 1 ms before ${deadline}`);
  advanceTo(cluster, deadline);
  assert.equal(cluster.state(node), after, `${node} at ${deadline}`);
}

describe('VRRP timers', () => {
  it('computes skew and master-down as keepalived does', () => {
    assert.equal(skewTimeMs(2, 100, 1000), 609.375);
    assert.equal(skewTimeMs(2, 150, 1000), 414.062);
    assert.equal(skewTimeMs(2, 255, 1000), 3.906);
    assert.equal(masterDownIntervalMs(2, 100, 1000), 3609.375);
    // v3 in whole microseconds as keepalived 2.2's VRRP_TIMER_SKEW (vrrp.h):
    // (256 - priority) * (master_adver_int / TIMER_CENTI_HZ) * 625 / 16.
    assert.equal(skewTimeMs(3, 100, 1000), 609.375); // 156 * 100 * 625 / 16 = 609375 us
    assert.equal(skewTimeMs(3, 100, 100), 60.937); // 60937.5 us, truncated
    assert.equal(skewTimeMs(3, 1, 4000), 3984.375);
    assert.equal(masterDownIntervalMs(3, 100, 500), 1804.687);
  });
});

describe('VRRP startup', () => {
  it('a BACKUP waits the full master-down interval', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [instanceOptions()]).engine.start();
    assert.equal(c.state('a'), 'BACKUP');
    assert.equal(c.node('a').engine.instance('VI_1').masterDownDeadline, 3609.375);
    assertEdge(c, 'a', 3609.375, 'BACKUP', 'MASTER');
    assert.deepEqual([...c.node('a').effects.addresses.keys()], ['192.168.0.203']);
  });

  it('the address owner (priority 255) becomes master at once', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [instanceOptions({ priority: 255 })]).engine.start();
    assert.equal(c.state('a'), 'MASTER');
    assert.equal(c.network.sentBy('a').length, 1);
  });

  it('state MASTER below 255 still waits the master-down interval (keepalived 2.x)', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [
      instanceOptions({ priority: 150, initialState: 'MASTER' }),
    ]).engine.start();
    assert.equal(c.state('a'), 'BACKUP');
    assertEdge(c, 'a', 3000 + 414.062, 'BACKUP', 'MASTER');
  });
});

describe('VRRP election', () => {
  function pair(
    a: Parameters<typeof instanceOptions>[0],
    b: Parameters<typeof instanceOptions>[0],
  ) {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [instanceOptions(a)]);
    c.add('b', '10.0.0.2', [instanceOptions(b)]);
    c.node('a').engine.start();
    c.node('b').engine.start();
    return c;
  }

  it('the higher priority wins and the backup re-arms on every advert', () => {
    const c = pair({ priority: 150 }, { priority: 100 });
    advanceTo(c, 3414.062);
    assert.equal(c.state('a'), 'MASTER');
    assert.equal(c.state('b'), 'BACKUP');
    advanceTo(c, 5000);
    const b = c.node('b').engine.instance('VI_1');
    assert.equal(b.masterAddress, '10.0.0.1');
    assert.equal(b.masterDownDeadline, 4414.062 + 3609.375);
    advanceTo(c, 60_000);
    assert.equal(c.state('b'), 'BACKUP');
    assert.equal(c.node('b').effects.addresses.size, 0);
  });

  it('a crashed master is replaced exactly at last advert + master-down interval', () => {
    const c = pair({ priority: 150 }, { priority: 100 });
    advanceTo(c, 10_000);
    const lastAdvert = c.network.sentBy('a').at(-1)!.at;
    c.network.partition('a', 'b');
    assertEdge(c, 'b', lastAdvert + 3609.375, 'BACKUP', 'MASTER');
  });

  it('a graceful stop sends priority 0 and the backup takes over after the skew time', async () => {
    const c = pair({ priority: 150 }, { priority: 100 });
    advanceTo(c, 10_000);
    await c.node('a').engine.stop();
    const last = c.network.sentBy('a').at(-1)!;
    assert.equal(decodeAdvert(last.payload, 4).priority, 0);
    assert.equal(c.node('a').effects.addresses.size, 0);
    assert.equal(c.state('a'), 'STOP');
    assertEdge(c, 'b', 10_000 + 609.375, 'BACKUP', 'MASTER');
    assert.equal(c.node('b').engine.instance('VI_1').counters.priorityZeroReceived, 1);
  });

  it('a returning higher priority node preempts after its own down timer', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [instanceOptions({ priority: 100 })]).engine.start();
    advanceTo(c, 4000);
    assert.equal(c.state('a'), 'MASTER');
    c.add('b', '10.0.0.2', [instanceOptions({ priority: 150 })]).engine.start();
    // Lower priority adverts are ignored, so the timer armed at start runs out.
    assertEdge(c, 'b', 4000 + 3414.062, 'BACKUP', 'MASTER');
    advanceTo(c, 7500);
    assert.equal(c.state('a'), 'BACKUP');
    assert.equal(c.node('a').effects.addresses.size, 0);
  });

  it('nopreempt keeps a higher priority node in BACKUP', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [instanceOptions({ priority: 100 })]).engine.start();
    advanceTo(c, 4000);
    c.add('b', '10.0.0.2', [instanceOptions({ priority: 150, nopreempt: true })]).engine.start();
    advanceTo(c, 30_000);
    assert.equal(c.state('a'), 'MASTER');
    assert.equal(c.state('b'), 'BACKUP');
  });

  it('preempt_delay accepts a lower master until the delay expires, then preempts', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [instanceOptions({ priority: 100 })]).engine.start();
    advanceTo(c, 5000);
    c.add('b', '10.0.0.2', [
      instanceOptions({ priority: 150, preemptDelayMs: 2000 }),
    ]).engine.start();
    // a advertises at 3609.375 + n * 1000: the first one b hears is at 5609.375, so the
    // delay ends at 7609.375; the advert at exactly that time is no longer accepted.
    advanceTo(c, 7609.375 - 1);
    const b = c.node('b').engine.instance('VI_1');
    assert.equal(b.masterDownDeadline, 6609.375 + 3414.062);
    advanceTo(c, 7609.375);
    assert.equal(b.masterDownDeadline, 6609.375 + 3414.062, 'advert at the deadline ignored');
    assertEdge(c, 'b', 6609.375 + 3414.062, 'BACKUP', 'MASTER');
  });

  it('equal priorities are broken by the higher primary address', () => {
    const c = pair({ priority: 100 }, { priority: 100 });
    advanceTo(c, 3609.375);
    advanceTo(c, 3700);
    assert.equal(c.state('a'), 'BACKUP');
    assert.equal(c.state('b'), 'MASTER');
    advanceTo(c, 20_000);
    assert.equal(c.state('b'), 'MASTER');
  });

  it('a master answers a lower priority advert at once and re-announces later', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [
      instanceOptions({ priority: 200, garp: { masterDelayMs: 0 } }),
    ]).engine.start();
    advanceTo(c, 4000);
    const rogue = c.network
      .attach('c', { eth0: ['10.0.0.3'] })
      .open({ family: 4, interface: 'eth0' }, () => {});
    const lower = encodeAdvert(
      {
        version: 2,
        type: 1,
        vrid: 51,
        priority: 50,
        authType: 0,
        advertIntervalMs: 1000,
        addresses: ['192.168.0.203'],
      },
      { family: 4, source: '10.0.0.3', destination: VRRP_MULTICAST_IPV4 },
    );
    const sentBefore = c.network.sentBy('a').length;
    const garpsBefore = c.node('a').effects.of('garp').length;
    rogue.send({
      source: '10.0.0.3',
      destination: VRRP_MULTICAST_IPV4,
      ttlOrHopLimit: 255,
      payload: lower,
      interface: 'eth0',
    });
    advanceTo(c, 4000);
    assert.equal(c.network.sentBy('a').length, sentBefore + 1);
    assert.equal(c.network.sentBy('a').at(-1)!.at, 4000);
    assert.equal(c.state('a'), 'MASTER');
    // garp_lower_prio_delay defaults to garp_master_delay (0 here): announce at once.
    assert.equal(c.node('a').effects.of('garp').length, garpsBefore + 5);
  });

  it('a v3 backup adopts the master advert interval', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [
      instanceOptions({ version: 3, priority: 200, advertIntMs: 500 }),
    ]).engine.start();
    advanceTo(c, 5000);
    c.add('b', '10.0.0.2', [
      instanceOptions({ version: 3, priority: 100, advertIntMs: 1000 }),
    ]).engine.start();
    const b = c.node('b').engine.instance('VI_1');
    assert.equal(b.masterAdvertIntervalMs, 1000);
    advanceTo(c, 5600);
    assert.equal(b.masterAdvertIntervalMs, 500);
    const last = c.network.sentBy('a').at(-1)!.at;
    assert.equal(b.masterDownDeadline, last + 1804.687);
    c.network.partition('a', 'b');
    assertEdge(c, 'b', last + 1804.687, 'BACKUP', 'MASTER');
  });

  it('a v2 advert interval mismatch is dropped and counted', () => {
    const c = pair({ priority: 150, advertIntMs: 2000 }, { priority: 100 });
    advanceTo(c, 12_000);
    assert.equal(c.state('a'), 'MASTER');
    assert.equal(c.state('b'), 'MASTER');
    assert.ok(c.node('b').engine.instance('VI_1').counters.dropped.advertIntervalMismatch > 0);
  });
});

describe('VRRP master effects', () => {
  it('announces in bursts: repeat now, again after garp_master_delay, then refreshes', () => {
    const c = new TestCluster();
    const garp = {
      masterRepeat: 3,
      masterDelayMs: 5000,
      masterRefreshMs: 10_000,
      masterRefreshRepeat: 2,
    };
    const a = c.add('a', '10.0.0.1', [instanceOptions({ priority: 255, garp })]);
    a.engine.start();
    const at = (t: number) => a.effects.of('garp').filter((e) => e.at === t).length;
    assert.equal(at(0), 3);
    c.clock.advance(4999);
    assert.equal(a.effects.of('garp').length, 3);
    c.clock.advance(1);
    assert.equal(at(5000), 3);
    c.clock.advance(5000);
    assert.equal(at(10_000), 2);
    c.clock.advance(10_000);
    assert.equal(at(20_000), 2);
    // The address is added before it is announced.
    const first = a.effects.events.findIndex((e) => e.kind === 'garp');
    assert.ok(a.effects.events.findIndex((e) => e.kind === 'add-address') < first);
  });

  it('spaces announcements by garp_interval', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [
      instanceOptions({
        priority: 255,
        garp: { masterRepeat: 3, intervalMs: 10, masterDelayMs: 0 },
      }),
    ]);
    a.engine.start();
    c.clock.advance(100);
    assert.deepEqual(
      a.effects.of('garp').map((e) => e.at),
      [0, 10, 20],
    );
  });

  it('IPv6 instances send unsolicited neighbour adverts over v3', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [
      instanceOptions({
        priority: 255,
        vips: [{ address: '2001:db8::10', prefixLength: 64 }],
        sourceIp: 'fe80::1',
        garp: { masterRepeat: 1, masterDelayMs: 0 },
      }),
    ]);
    a.engine.start();
    assert.equal(a.effects.of('unsolicited-na').length, 1);
    const sent = c.network.sentBy('a')[0]!;
    assert.equal(sent.destination, 'ff02::12');
    assert.equal(decodeAdvert(sent.payload, 6).version, 3);
  });

  it('unicast mode sends one advert per peer and elects over unicast', () => {
    const c = new TestCluster();
    c.add('a', '10.0.0.1', [
      instanceOptions({
        priority: 150,
        sourceIp: '10.0.0.1',
        unicastPeers: ['10.0.0.2', '10.0.0.9'],
      }),
    ]).engine.start();
    c.add('b', '10.0.0.2', [
      instanceOptions({ priority: 100, sourceIp: '10.0.0.2', unicastPeers: ['10.0.0.1'] }),
    ]).engine.start();
    advanceTo(c, 5000);
    assert.equal(c.state('a'), 'MASTER');
    assert.equal(c.state('b'), 'BACKUP');
    const destinations = new Set(c.network.sentBy('a').map((p) => p.destination));
    assert.deepEqual([...destinations].sort(), ['10.0.0.2', '10.0.0.9']);
  });
});
