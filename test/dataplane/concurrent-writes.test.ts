/**
 * XdpDataPlane takes several services' updates at once (concurrentServiceWrites):
 * each ring is built and written on the thread pool while the next service is
 * prepared. Checked on the real maps: every ring as written (lb_rings, read
 * back) is byte for byte the ring the JS reference builds, and updates of one
 * service made without waiting apply in call order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as abi from '../../src/dataplane/abi.js';
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import { maglevTable } from '../../src/dataplane/maglev.js';
import { ServiceTable } from '../../src/dataplane/service-table.js';
import { wrrSequence } from '../../src/dataplane/wrr.js';
import { encodeServiceKey, u32Key } from '../../src/dataplane/xdp/entries.js';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { bytesToAddress } from '../../src/net/address.js';
import { real, testPlane } from './support/harness.js';

const svc = (i: number, scheduler: 'wrr' | 'mh'): ServiceSpec => ({
  vip: `10.40.0.${i}`,
  port: 80,
  protocol: 'tcp',
  scheduler,
});
const reals = (i: number, weightOf: (r: number) => number): RealSpec[] =>
  Array.from({ length: 12 }, (_, r) =>
    real(`10.40.${i}.${r + 1}`, `02:00:00:00:40:${(r + 1).toString(16).padStart(2, '0')}`, {
      port: 80,
      weight: weightOf(r),
    }),
  );

/** The live ring of a service as the program reads it: params, then its entries. */
function liveRing(plane: XdpDataPlane, spec: ServiceSpec) {
  const entry = new ServiceTable(plane.map('services')).find(encodeServiceKey(spec));
  assert.ok(entry !== undefined, `${spec.vip} is in the service table`);
  const value = plane.map('rings').lookup(u32Key(entry.id * abi.RING_SLOTS + entry.ringSlot));
  assert.ok(value !== undefined);
  return { id: entry.id, params: abi.ringParams.decode(value), value };
}

function liveSlot(plane: XdpDataPlane, spec: ServiceSpec): number {
  return new ServiceTable(plane.map('services')).find(encodeServiceKey(spec))?.ringSlot ?? -1;
}

/** Real ids by address, from lb_reals, for the reals of service `serviceId`. */
function realIds(plane: XdpDataPlane, serviceId: number, specs: readonly RealSpec[]) {
  const ids = new Map<string, number>();
  for (let id = 1; id < plane.map('reals').info.maxEntries; id++) {
    const value = plane.map('reals').lookup(u32Key(id));
    if (value === undefined) continue;
    const r = abi.real.decode(value);
    if (r.service_id !== serviceId || r.flags === 0) continue;
    ids.set(bytesToAddress(r.addr.subarray(0, 4)), id);
  }
  assert.equal(ids.size, specs.filter((s) => s.weight >= 0).length);
  return ids;
}

/** The lb_rings value the reference code gives for these reals and ids. */
function referenceRing(spec: ServiceSpec, specs: readonly RealSpec[], ids: Map<string, number>) {
  const weighted = specs.map((r) => ({ id: ids.get(r.address)!, weight: r.weight }));
  const entries =
    spec.scheduler === 'wrr'
      ? Uint32Array.from(wrrSequence(weighted, abi.RING_SIZE))
      : maglevTable(
          specs.map((r) => ({ id: ids.get(r.address)!, key: `${r.address}|80`, weight: r.weight })),
          abi.RING_SIZE,
        );
  const value = Buffer.alloc(abi.RING_BYTES);
  Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength).copy(
    value,
    abi.ringParams.size,
  );
  return { entries: entries.length, tail: value.subarray(abi.ringParams.size) };
}

describe('concurrent service writes (XDP)', () => {
  it('rings written while other services are in flight are the reference rings, byte for byte', async (t) => {
    const plane = await testPlane(t, { maxServices: 16, maxReals: 256 });
    assert.ok(plane.concurrentServiceWrites > 1);
    const weightOf = (i: number) => (r: number) => (r === i % 12 ? 0 : 1 + ((r + i) % 4));
    const specs = Array.from({ length: 8 }, (_, i) => svc(i + 1, i % 2 === 0 ? 'wrr' : 'mh'));
    await Promise.all(specs.map((s, i) => plane.setService(s, reals(i + 1, weightOf(i)))));
    for (const [i, spec] of specs.entries()) {
      const applied = reals(i + 1, weightOf(i));
      const ring = liveRing(plane, spec);
      const want = referenceRing(spec, applied, realIds(plane, ring.id, applied));
      assert.equal(ring.params.sched, abi.SCHED[spec.scheduler as abi.XdpScheduler]);
      assert.equal(ring.params.ring_len, want.entries, `${spec.vip}: ring length`);
      assert.ok(
        ring.value.subarray(abi.ringParams.size).equals(want.tail),
        `${spec.vip} (${spec.scheduler}): entries and zero padding as the reference builds them`,
      );
    }
  });

  it('Maglev services with the same reals share a placement and each ring holds its own ids', async (t) => {
    const plane = await testPlane(t, { maxServices: 16, maxReals: 256 });
    const sameReals = (weightOf: (r: number) => number) => reals(50, weightOf);
    const specs = [11, 12, 13].map((i) => svc(i, 'mh'));
    const even = (r: number) => 1 + (r % 3);
    await Promise.all(specs.map((s) => plane.setService(s, sameReals(even))));
    // One of them changes (its placement is no longer shared); the others keep theirs.
    const drained = (r: number) => (r === 4 ? 0 : 1 + (r % 3));
    await plane.setService(specs[1]!, sameReals(drained));
    const ringIdsSeen = new Set<string>();
    for (const [i, spec] of specs.entries()) {
      const applied = sameReals(i === 1 ? drained : even);
      const ring = liveRing(plane, spec);
      const ids = realIds(plane, ring.id, applied);
      ringIdsSeen.add([...ids.values()].join(','));
      assert.ok(
        ring.value.subarray(abi.ringParams.size).equals(referenceRing(spec, applied, ids).tail),
        `${spec.vip}: the reference table with this service's ids`,
      );
    }
    assert.equal(ringIdsSeen.size, 3, 'each service has reals (ids) of its own');
  });

  it('settle frees the placements no other service shares and keeps the shared ones', async (t) => {
    const plane = await testPlane(t, { maxServices: 16, maxReals: 256 });
    const even = (r: number) => 1 + (r % 3);
    const shared = [21, 22].map((i) => svc(i, 'mh'));
    const alone = svc(23, 'mh');
    await Promise.all([
      ...shared.map((s) => plane.setService(s, reals(60, even))),
      plane.setService(alone, reals(61, even)),
    ]);
    assert.equal(plane.maglevPlacements, 2);
    await plane.settle();
    assert.equal(plane.maglevPlacements, 1, 'the shared placement stays');
    // A service without a held placement changes as before: the reference ring.
    const drained = (r: number) => (r === 2 ? 0 : even(r));
    await plane.setService(alone, reals(61, drained));
    await plane.setService(shared[0]!, reals(60, drained));
    // shared[1] alone holds the first placement now; shared[0] and alone have their own.
    assert.equal(plane.maglevPlacements, 3);
    await plane.settle();
    await plane.settle();
    assert.equal(plane.maglevPlacements, 0);
    for (const [spec, i, weightOf] of [
      [alone, 61, drained],
      [shared[0]!, 60, drained],
      [shared[1]!, 60, even],
    ] as const) {
      const applied = reals(i, weightOf);
      const ring = liveRing(plane, spec);
      assert.ok(
        ring.value
          .subarray(abi.ringParams.size)
          .equals(referenceRing(spec, applied, realIds(plane, ring.id, applied)).tail),
        `${spec.vip}: the reference ring`,
      );
    }
    // Changed again after its placement was freed: written from a new fill.
    await plane.setService(shared[1]!, reals(60, drained));
    const ring = liveRing(plane, shared[1]!);
    const applied = reals(60, drained);
    assert.ok(
      ring.value
        .subarray(abi.ringParams.size)
        .equals(referenceRing(shared[1]!, applied, realIds(plane, ring.id, applied)).tail),
    );
  });

  it('updates of one service made without waiting apply in call order', async (t) => {
    const plane = await testPlane(t, { maxServices: 16, maxReals: 256 });
    const spec = svc(9, 'mh');
    await plane.setService(
      spec,
      reals(9, () => 1),
    );
    const last = reals(9, (r) => (r < 6 ? 3 : 1));
    const writes = [
      plane.setService(
        spec,
        reals(9, (r) => (r < 6 ? 0 : 2)),
      ),
      plane.setReal(spec, { ...reals(9, () => 5)[0]! }),
      plane.setService(spec, last),
    ];
    await Promise.all(writes);
    const applied = plane.services().find((s) => s.service.vip === spec.vip);
    assert.deepEqual(
      applied?.reals.map((r) => r.weight),
      last.map((r) => r.weight),
    );
    const ring = liveRing(plane, spec);
    const ids = realIds(plane, ring.id, last);
    const want = referenceRing(spec, last, ids);
    assert.ok(
      ring.value.subarray(abi.ringParams.size).equals(want.tail),
      'the last update is live',
    );
    // Each update wrote the slot the one before it left inactive: the other slot holds the
    // second update's ring (real 0 at weight 5 over the first update's weights).
    const second = reals(9, (r) => (r === 0 ? 5 : r < 6 ? 0 : 2));
    const other = plane
      .map('rings')
      .lookup(u32Key(ring.id * abi.RING_SLOTS + (1 - liveSlot(plane, spec))));
    assert.ok(
      other?.subarray(abi.ringParams.size).equals(referenceRing(spec, second, ids).tail),
      'the inactive slot holds the update before the last',
    );
  });
});
