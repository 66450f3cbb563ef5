import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connEntries } from '../../src/dataplane/conn-table.js';
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import { ServiceTable } from '../../src/dataplane/service-table.js';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { ageConnections } from './support/conns.js';
import { real, run, testPlane } from './support/harness.js';
import { frame, TCP_ACK, TCP_FIN, TCP_SYN } from './support/packet.js';

const VIP = '10.30.0.1';
const macOf = (i: number) => `02:00:00:00:30:${i.toString(16).padStart(2, '0')}`;
const realN = (i: number, extra: Partial<RealSpec> = {}) => real(`10.30.1.${i}`, macOf(i), extra);
const svc = (extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  vip: VIP,
  port: 80,
  protocol: 'tcp',
  scheduler: 'rr',
  ...extra,
});

/** Sends one packet of a flow (a SYN unless told) and returns the real it went to (its MAC's last byte). */
async function realFor(
  plane: XdpDataPlane,
  src: string,
  sport: number,
  extra: { dport?: number; tcpFlags?: number } = {},
): Promise<number> {
  const out = await run(
    plane,
    frame({
      src,
      dst: VIP,
      proto: 'tcp',
      sport,
      dport: extra.dport ?? 80,
      tcpFlags: extra.tcpFlags ?? TCP_SYN,
    }),
  );
  assert.equal(out.verdictName, 'XDP_TX', `flow ${src}:${sport}`);
  return out.data[5]!;
}

function tally(ids: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

/** Moves every persistence template into the past by `ageNs`. */
function agePersistence(plane: XdpDataPlane, ageNs: bigint): void {
  const map = plane.map('persist');
  for (const [k, v] of [...map.entries()]) {
    const value = Buffer.from(v);
    value.writeBigUInt64LE(value.readBigUInt64LE(0) - ageNs, 0);
    map.update(k, value);
  }
}

describe('schedulers', () => {
  it('rr alternates new flows between reals', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc(), [realN(1), realN(2)]);
    const seq: number[] = [];
    for (let p = 0; p < 20; p++) seq.push(await realFor(plane, '203.0.113.1', 10000 + p));
    for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1], `flow ${i}`);
  });

  it('wrr sends new flows in proportion to weights', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc({ scheduler: 'wrr' }), [
      realN(1, { weight: 3 }),
      realN(2, { weight: 1 }),
      realN(3, { weight: 0 }),
    ]);
    const seq: number[] = [];
    for (let p = 0; p < 400; p++) seq.push(await realFor(plane, '203.0.113.1', 10000 + p));
    assert.deepEqual(
      tally(seq),
      new Map([
        [1, 300],
        [2, 100],
      ]),
    );
  });

  for (const scheduler of ['sh', 'mh'] as const) {
    it(`${scheduler} keeps a client on one real across source ports and spreads clients`, async (t) => {
      const plane = await testPlane(t);
      await plane.setService(svc({ scheduler }), [realN(1), realN(2), realN(3)]);
      const perClient: number[] = [];
      for (let c = 1; c <= 60; c++) {
        const src = `198.51.${c}.${c}`;
        const first = await realFor(plane, src, 1000);
        for (let p = 1; p < 4; p++)
          assert.equal(await realFor(plane, src, 1000 + p), first, `${src}`);
        perClient.push(first);
      }
      const counts = tally(perClient);
      assert.equal(counts.size, 3, 'every real gets clients');
      for (const [, n] of counts) assert.ok(n >= 8, `share ${n} of 60`);
    });
  }

  it('mh with source-port hashing spreads one client over reals', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc({ scheduler: 'mh', hashSourcePort: true }), [
      realN(1),
      realN(2),
      realN(3),
    ]);
    const seq: number[] = [];
    for (let p = 0; p < 60; p++) seq.push(await realFor(plane, '203.0.113.1', 30000 + p));
    assert.equal(tally(seq).size, 3);
  });

  it('dh keys on the destination: every flow to one VIP meets the same real', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc({ scheduler: 'dh' }), [realN(1), realN(2), realN(3)]);
    const seq: number[] = [];
    for (let c = 1; c <= 20; c++) seq.push(await realFor(plane, `198.51.100.${c}`, 2000 + c));
    assert.equal(tally(seq).size, 1);
  });

  it('mh moves about 1/N of clients when one of N reals is removed', async (t) => {
    // 2,000 flows in 4,096 entries: the second round's flows are new ones
    // (another source port), so whatever the table evicts, each is scheduled anew.
    const plane = await testPlane(t);
    const reals = Array.from({ length: 10 }, (_, i) => realN(i + 1));
    await plane.setService(svc({ scheduler: 'mh' }), reals);
    const clients = Array.from({ length: 1000 }, (_, i) => `198.${18 + (i >> 8)}.${i & 255}.7`);
    const before: number[] = [];
    for (const c of clients) before.push(await realFor(plane, c, 1000));
    await plane.setService(svc({ scheduler: 'mh' }), reals.slice(1));
    let moved = 0;
    for (const [i, c] of clients.entries()) {
      // A new source port is a new flow: it meets the new table, not the connection entry.
      const now = await realFor(plane, c, 2000);
      if (before[i] !== 1 && now !== before[i]) moved++;
      assert.notEqual(now, 1, 'the removed real gets nothing');
    }
    const survivors = before.filter((r) => r !== 1).length;
    assert.ok(
      moved / survivors <= 0.03,
      `moved ${moved} of ${survivors} clients of surviving reals`,
    );
  });

  it('lc/wlc/sed/nq are refused: they belong on the IPVS data plane', async (t) => {
    const plane = await testPlane(t);
    for (const scheduler of ['lc', 'wlc', 'sed', 'nq'] as const) {
      await assert.rejects(plane.setService(svc({ scheduler }), [realN(1)]), (err) =>
        hasCode(err, 'DATAPLANE_UNSUPPORTED_SCHEDULER'),
      );
    }
  });
});

describe('connection tracking', () => {
  it('established flows stay on their real when the real set and weights change', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc(), [realN(1), realN(2)]);
    const flows = new Map<number, number>();
    for (let p = 0; p < 10; p++) flows.set(p, await realFor(plane, '203.0.113.1', 40000 + p));
    await plane.setService(svc({ scheduler: 'wrr' }), [
      realN(1, { weight: 5 }),
      realN(2),
      realN(3, { weight: 9 }),
    ]);
    for (const [p, r] of flows) assert.equal(await realFor(plane, '203.0.113.1', 40000 + p), r);
    const fresh: number[] = [];
    for (let p = 0; p < 15; p++) fresh.push(await realFor(plane, '203.0.113.2', 40000 + p));
    assert.ok(fresh.includes(3), 'new flows see the new real');
  });

  it('a real with weight 0 drains: its flows continue, it gets no new ones', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc(), [realN(1), realN(2)]);
    const flows = new Map<number, number>();
    for (let p = 0; p < 10; p++) flows.set(p, await realFor(plane, '203.0.113.1', 41000 + p));
    await plane.setReal(svc(), realN(1, { weight: 0 }));
    for (const [p, r] of flows) assert.equal(await realFor(plane, '203.0.113.1', 41000 + p), r);
    for (let p = 0; p < 10; p++) assert.equal(await realFor(plane, '203.0.113.2', 41000 + p), 2);
  });

  it('flows of a removed real are rescheduled to the remaining reals', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc(), [realN(1), realN(2)]);
    const onOne: number[] = [];
    for (let p = 0; p < 10; p++)
      if ((await realFor(plane, '203.0.113.1', 42000 + p)) === 1) onOne.push(p);
    assert.ok(onOne.length > 0);
    await plane.removeReal(svc(), '10.30.1.1', 0);
    for (const p of onOne) assert.equal(await realFor(plane, '203.0.113.1', 42000 + p), 2);
  });

  it('a flow idle past the TCP timeout is scheduled afresh; FIN shortens the timeout', async (t) => {
    const plane = await testPlane(t);
    await plane.setTimeouts({ tcpS: 100, tcpFinS: 10, udpS: 300 });
    await plane.setService(svc(), [realN(1), realN(2)]);
    const a = await realFor(plane, '203.0.113.1', 43000);
    const b = await realFor(plane, '203.0.113.1', 43001);
    assert.equal(await realFor(plane, '203.0.113.1', 43001, { tcpFlags: TCP_FIN | TCP_ACK }), b);
    const stamped = connEntries(plane.map('conns')).map((e) => e.conn.last_seen_ns);
    ageConnections(plane, 50n * 1_000_000_000n);
    // 50 s idle: the open flow keeps its real, the finishing one (10 s) has expired.
    assert.equal(await realFor(plane, '203.0.113.1', 43000), a);
    const rescheduled = await realFor(plane, '203.0.113.1', 43001);
    const entries = connEntries(plane.map('conns')).map((e) => e.conn);
    assert.equal(entries.length, 2);
    // The program's clock has an arbitrary origin: compare with the stamps it wrote before.
    assert.ok(
      entries.every((e) => stamped.every((before) => e.last_seen_ns >= before)),
      'both refreshed',
    );
    ageConnections(plane, 101n * 1_000_000_000n);
    const after = await realFor(plane, '203.0.113.1', 43000);
    // rr has moved on: after expiry the flow gets whichever real is next, counted as new.
    const c = await plane.counters();
    assert.equal(c.services[0]?.newConnections, 4);
    assert.ok([1, 2].includes(after) && [1, 2].includes(rescheduled) && [1, 2].includes(b));
  });

  it('a service without any real that can take flows drops and counts', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc(), [realN(1, { weight: 0 })]);
    const out = await run(
      plane,
      frame({ src: '203.0.113.1', dst: VIP, proto: 'tcp', sport: 1, dport: 80 }),
    );
    assert.equal(out.verdictName, 'XDP_DROP');
    assert.equal((await plane.counters()).global.noReal?.packets, 1);
  });

  it('updates flip between two ring slots while packets keep flowing', async (t) => {
    const plane = await testPlane(t);
    const setA = [realN(1), realN(2)];
    const setB = [realN(3), realN(4)];
    await plane.setService(svc(), setA);
    const seen = new Set<number>();
    const traffic = (async () => {
      for (let p = 0; p < 300; p++) seen.add(await realFor(plane, '203.0.113.3', 1024 + p));
    })();
    for (let i = 0; i < 20; i++) await plane.setService(svc(), i % 2 === 0 ? setB : setA);
    await traffic;
    for (const r of seen) assert.ok([1, 2, 3, 4].includes(r), `real ${r}`);
    const entries = new ServiceTable(plane.map('services')).entries();
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.ringSlot, 0, '21 writes end on slot 0');
  });
});

describe('persistence', () => {
  it('keeps one client on one real across source ports, per granularity', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc({ persistence: { timeoutS: 300, prefixLength: 24 } }), [
      realN(1),
      realN(2),
    ]);
    const first = await realFor(plane, '203.0.113.1', 5000);
    for (let p = 1; p < 10; p++) assert.equal(await realFor(plane, '203.0.113.1', 5000 + p), first);
    assert.equal(await realFor(plane, '203.0.113.77', 5000), first, 'same /24 shares the template');
    assert.notEqual(
      await realFor(plane, '203.0.114.1', 5000),
      first,
      'another /24 is scheduled (rr)',
    );
  });

  it('works for IPv6 clients with a prefix granularity', async (t) => {
    const plane = await testPlane(t);
    const vip6 = { vip: '2001:db8:30::1', port: 80, protocol: 'tcp', scheduler: 'rr' } as const;
    await plane.setService({ ...vip6, persistence: { timeoutS: 60, prefixLength: 64 } }, [
      real('2001:db8:30::10', macOf(1)),
      real('2001:db8:30::11', macOf(2)),
    ]);
    const send = async (src: string, sport: number) => {
      const out = await run(plane, frame({ src, dst: vip6.vip, proto: 'tcp', sport, dport: 80 }));
      assert.equal(out.verdictName, 'XDP_TX');
      return out.data[5]!;
    };
    const first = await send('2001:db8:c:1::1', 1000);
    assert.equal(await send('2001:db8:c:1::2', 1001), first);
    assert.notEqual(await send('2001:db8:c:2::1', 1002), first);
  });

  it('expires after the persistence timeout', async (t) => {
    const plane = await testPlane(t);
    await plane.setService(svc({ persistence: { timeoutS: 30 } }), [realN(1), realN(2)]);
    const first = await realFor(plane, '203.0.113.1', 6000);
    agePersistence(plane, 20n * 1_000_000_000n);
    assert.equal(await realFor(plane, '203.0.113.1', 6001), first, 'within the timeout');
    agePersistence(plane, 31n * 1_000_000_000n);
    assert.notEqual(await realFor(plane, '203.0.113.1', 6002), first, 'rr picks the other real');
  });

  it('all-ports services (port 0) must be persistent and then match every port', async (t) => {
    const plane = await testPlane(t);
    await assert.rejects(plane.setService(svc({ port: 0 }), [realN(1)]), (err) =>
      hasCode(err, 'DATAPLANE_INVALID_SERVICE'),
    );
    await plane.setService(svc({ port: 0, persistence: { timeoutS: 60 } }), [realN(1), realN(2)]);
    const first = await realFor(plane, '203.0.113.1', 7000, { dport: 443 });
    assert.equal(await realFor(plane, '203.0.113.1', 7001, { dport: 8443 }), first);
  });
});
