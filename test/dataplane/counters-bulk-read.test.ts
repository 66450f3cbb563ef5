/**
 * counters() reads the per-CPU counter maps in ranges on the thread pool,
 * summed over CPUs there (src/dataplane/xdp/counters-reader.ts). These tests
 * check its figures against the per-key reading it replaced, and that a
 * change of reals while it reads never counts a real's packets twice or
 * under another real.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import * as abi from '../../src/dataplane/abi.js';
import type { DataPlaneCounters, RealSpec } from '../../src/dataplane/dataplane.js';
import { sumCounters, u32Key } from '../../src/dataplane/xdp/entries.js';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { real, TEST_TABLES, testPlane } from './support/harness.js';
import { fill, u64s } from './support/per-cpu-values.js';

const REAL_FIELDS = abi.realCounters.size / 8;

/** Live real ids by the MAC of their next hop, and their service ids. */
function liveReals(plane: XdpDataPlane): Map<string, { id: number; serviceId: number }> {
  const out = new Map<string, { id: number; serviceId: number }>();
  for (const [key, value] of plane.map('reals').entries()) {
    const entry = abi.real.decode(value);
    if (entry.flags === 0) continue;
    out.set(String(entry.mac).toLowerCase(), {
      id: key.readUInt32LE(0),
      serviceId: entry.service_id,
    });
  }
  return out;
}

/** counters() as it was computed before: one lookup per key, BigInt sums per CPU. */
function perKeyCounters(plane: XdpDataPlane): DataPlaneCounters {
  const stats = plane.map('stats');
  const event = (i: number) => sumCounters(stats.lookupPerCpu(u32Key(i)));
  const global: Record<string, { packets: number; bytes: number }> = {};
  abi.STAT_REASONS.forEach((reason, i) => {
    const { packets, bytes } = event(i);
    global[reason] = { packets, bytes };
  });
  const ids = liveReals(plane);
  let forwarded = global.forwarded ?? { packets: 0, bytes: 0 };
  const services = plane.services().map(({ service, reals }) => {
    const realIds = reals.map((r) => ids.get(String(r.via?.mac).toLowerCase()));
    const serviceId = realIds[0]?.serviceId ?? -1;
    let sum = sumCounters(plane.map('serviceStats').lookupPerCpu(u32Key(serviceId)));
    const realCounters = reals.map((r, i) => {
      const c = { p: 0n, b: 0n, n: 0n, fp: 0n, fb: 0n, rp: 0n, rb: 0n };
      for (const raw of plane.map('realStats').lookupPerCpu(u32Key(realIds[i]?.id ?? -1)) ?? []) {
        const v = abi.realCounters.decode(raw);
        c.p += v.packets;
        c.b += v.bytes;
        c.n += v.new_conns;
        c.fp += v.fwd_packets;
        c.fb += v.fwd_bytes;
        c.rp += v.reply_packets;
        c.rb += v.reply_bytes;
      }
      sum = {
        packets: sum.packets + Number(c.p),
        bytes: sum.bytes + Number(c.b),
        newConnections: sum.newConnections + Number(c.n),
      };
      forwarded = {
        packets: forwarded.packets + Number(c.fp),
        bytes: forwarded.bytes + Number(c.fb),
      };
      return {
        address: r.address,
        port: r.port,
        packets: Number(c.p) + Number(c.rp),
        bytes: Number(c.b) + Number(c.rb),
        newConnections: Number(c.n),
      };
    });
    return {
      service: { vip: service.vip, port: service.port, protocol: service.protocol },
      ...sum,
      reals: realCounters,
    };
  });
  global.forwarded = forwarded;
  return {
    global,
    services,
    connTable: {
      capacity: plane.map('conns').info.maxEntries * abi.CONN_WAYS,
      used: event(abi.STAT_CONN_FILLED).packets,
      evicted: event(abi.STAT_CONN_EVICTED).packets,
    },
    hashForwarded: event(abi.STAT_HASH_FORWARDED).packets,
  };
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

describe('counters() read in bulk', () => {
  it('equals the per-key reading for 3 services x 21 reals, up to the last real id', async (t) => {
    // Ids 1-63 of 64: the reals' range ends at lb_real_stats' last entry.
    const plane = await testPlane(t);
    const perService = (TEST_TABLES.maxReals - 1) / 3;
    for (let s = 0; s < 3; s++) {
      const reals: RealSpec[] = Array.from({ length: perService }, (_, r) =>
        real(`10.42.${s}.${r + 1}`, `02:00:00:00:${hex(s)}:${hex(r)}`, {
          forwarding: r % 4 === 0 ? 'nat' : 'dr',
          port: r % 4 === 0 ? 8080 : 0,
        }),
      );
      await plane.setService(
        { vip: `10.42.${s}.200`, port: 80, protocol: 'tcp', scheduler: 'rr' },
        reals,
      );
    }
    const next = u64s(0x9e3779b97f4a7c15n);
    for (let i = 0; i < plane.map('stats').info.maxEntries; i++) {
      fill(plane.map('stats'), i, 3, next);
    }
    for (let i = 0; i < 3; i++) fill(plane.map('serviceStats'), i, 3, next);
    for (const { id } of liveReals(plane).values()) {
      fill(plane.map('realStats'), id, REAL_FIELDS, next);
    }
    const ids = [...liveReals(plane).values()].map((r) => r.id);
    assert.equal(Math.max(...ids), TEST_TABLES.maxReals - 1);
    const counters = await plane.counters();
    assert.equal(counters.services.length, 3);
    assert.equal(counters.services.flatMap((s) => s.reals).length, TEST_TABLES.maxReals - 1);
    assert.deepEqual(counters, perKeyCounters(plane));
  });

  it('never counts a real replaced while it reads under its successor, nor twice', async (t) => {
    // Another service takes all real ids but the last two: once every id has
    // been handed out, a real removed and another added take the same id.
    const plane = await testPlane(t);
    await plane.setService(
      { vip: '10.43.9.1', port: 80, protocol: 'tcp', scheduler: 'rr' },
      Array.from({ length: TEST_TABLES.maxReals - 3 }, (_, r) =>
        real(`10.43.9.${r + 2}`, `02:00:00:00:49:${hex(r)}`),
      ),
    );
    const service = { vip: '10.43.0.1', port: 80, protocol: 'tcp', scheduler: 'rr' } as const;
    const fixed = real('10.43.0.10', '02:00:00:00:43:00');
    const replaced = (i: number) => real(`10.43.1.${i}`, `02:00:00:00:43:${hex(i)}`);
    const packetsOf = (i: number) => 1000 + i;
    const realStats = plane.map('realStats');
    /** `packets` scheduled and forwarded, `packets` × 100 bytes, all on CPU 0. */
    const traffic = (r: RealSpec, packets: number) => {
      const id = liveReals(plane).get(String(r.via?.mac))?.id;
      assert.ok(id !== undefined);
      const values = [packets, packets * 100, packets, packets, packets * 100, 0, 0];
      let n = 0;
      fill(realStats, id, REAL_FIELDS, () => BigInt(n++ < REAL_FIELDS ? (values[n - 1] ?? 0) : 0));
      return id;
    };
    await plane.setService(service, [fixed, replaced(1)]);
    traffic(fixed, 1);
    let id = traffic(replaced(1), packetsOf(1));
    let total = 1 + packetsOf(1);
    let overlapped = 0;
    for (let i = 1; i <= 40; i++) {
      const reading = plane.counters();
      let settled = false;
      void reading.then(() => {
        settled = true;
      });
      // Changes at different points of the read: after 0 to 7 turns of the loop.
      for (let k = 0; k < i % 8; k++) await nextTurn();
      if (!settled) overlapped++;
      await plane.setService(service, [fixed]);
      await plane.setService(service, [fixed, replaced(i + 1)]);
      const reusedId = traffic(replaced(i + 1), packetsOf(i + 1));
      assert.equal(reusedId, id, 'the new real took the id of the one removed');
      const c = await reading;
      const s = c.services.find((x) => x.service.vip === service.vip);
      assert.ok(s !== undefined);
      assert.equal(s.packets, total, `read ${i}: the service counts every packet once`);
      assert.equal(s.bytes, total * 100);
      assert.equal(c.global.forwarded?.packets, total, `read ${i}: forwarded counts each once`);
      const listed = Object.fromEntries(s.reals.map((r) => [r.address, r.packets]));
      assert.equal(listed[fixed.address], 1);
      const others = Object.keys(listed).filter((a) => a !== fixed.address);
      assert.ok(others.length <= 1);
      if (others.length === 1) {
        // Listed as read before its removal, with its own packets only.
        assert.deepEqual(others, [replaced(i).address]);
        assert.equal(listed[replaced(i).address], packetsOf(i), `read ${i}: its own packets`);
      }
      id = reusedId;
      total += packetsOf(i + 1);
    }
    t.diagnostic(`${overlapped} of 40 reads were still in flight when the reals changed`);
  });

  it('fails a read that the data plane closing overtakes as closed', async (t) => {
    const plane = await testPlane(t);
    await plane.setService({ vip: '10.44.0.1', port: 80, protocol: 'tcp', scheduler: 'rr' }, [
      real('10.44.0.10', '02:00:00:00:44:00'),
    ]);
    const closed = (err: unknown) => hasCode(err, 'DATAPLANE_CLOSED');
    const reading = plane.counters();
    await plane.close();
    await assert.rejects(reading, closed);
    await assert.rejects(plane.counters(), closed);
  });
});
