import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceSpec } from '../../src/dataplane/dataplane.js';
import type { DesiredReal } from '../../src/reconcile/desired-services.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { FakeClock } from '../../src/time/fake-clock.js';
import { hopFor, MemoryDataPlane, TableNextHops } from './support/memory-data-plane.js';

const WEB: ServiceSpec = { vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' };
const DNS: ServiceSpec = { vip: '10.0.0.101', port: 53, protocol: 'udp', scheduler: 'sh' };

const real = (address: string, weight = 1, port = 80): DesiredReal => ({
  address,
  port,
  weight,
  forwarding: 'dr',
});

function setup(reachable = ['10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.50']) {
  const plane = new MemoryDataPlane();
  const hops = new TableNextHops(new Map(reachable.map((a) => [a, hopFor(a)])));
  const clock = new FakeClock();
  const reconciler = new Reconciler({ dataPlane: plane, nextHops: hops, clock, retryMs: 500 });
  return { plane, hops, clock, reconciler };
}

describe('Reconciler', () => {
  it('applies each service whole, with next hops, and nothing again when nothing changed', async () => {
    const { plane, reconciler } = setup();
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11'), real('10.0.0.12', 2)] }]);
    await reconciler.set('vs2', [{ spec: DNS, reals: [real('10.0.0.13', 1, 53)] }]);
    assert.deepEqual(plane.calls, [
      'set 10.0.0.100:80 10.0.0.11:80*1,10.0.0.12:80*2',
      'set 10.0.0.101:53 10.0.0.13:53*1',
    ]);
    assert.deepEqual(plane.services()[0]?.reals[1]?.via, hopFor('10.0.0.12'));
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.12', 2), real('10.0.0.11')] }]);
    await reconciler.sync();
    assert.equal(plane.calls.length, 2, 'the same state in another order writes nothing');
    assert.deepEqual(reconciler.report(), { set: 0, removed: 0, unchanged: 2, failed: 0 });
    assert.equal(plane.settled, 4, 'every pass ends with settle(), after its writes');
  });

  it('re-weights, drains (weight 0) and removes reals, touching only the changed service', async () => {
    const { plane, reconciler } = setup();
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11'), real('10.0.0.12')] }]);
    await reconciler.set('vs2', [{ spec: DNS, reals: [real('10.0.0.13', 1, 53)] }]);
    plane.calls.length = 0;
    await reconciler.set('vs1', [
      { spec: WEB, reals: [real('10.0.0.11', 5), real('10.0.0.12', 0)] },
    ]);
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11', 5)] }]);
    assert.deepEqual(plane.calls, [
      'set 10.0.0.100:80 10.0.0.11:80*5,10.0.0.12:80*0',
      'set 10.0.0.100:80 10.0.0.11:80*5',
    ]);
  });

  it('looks up no next hop for a service whose data plane routes by itself (IPVS)', async () => {
    const { plane, reconciler } = setup([]);
    await reconciler.set('vs1', [
      { spec: WEB, reals: [real('127.0.0.1'), real('10.0.0.99')], nextHops: false },
    ]);
    assert.deepEqual(plane.calls, ['set 10.0.0.100:80 127.0.0.1:80*1,10.0.0.99:80*1']);
    assert.equal(plane.services()[0]?.reals[0]?.via, undefined);
    assert.deepEqual(reconciler.report(), { set: 1, removed: 0, unchanged: 0, failed: 0 });
  });

  it('removes services no owner wants any more', async () => {
    const { plane, reconciler } = setup();
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11')] }]);
    await reconciler.set('vs1', []);
    assert.deepEqual(plane.calls.slice(1), ['remove 10.0.0.100:80']);
    assert.equal(plane.services().length, 0);
  });

  it('switches to the sorry server and back', async () => {
    const { plane, reconciler } = setup();
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11')] }]);
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.50')] }]);
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11')] }]);
    assert.deepEqual(plane.calls, [
      'set 10.0.0.100:80 10.0.0.11:80*1',
      'set 10.0.0.100:80 10.0.0.50:80*1',
      'set 10.0.0.100:80 10.0.0.11:80*1',
    ]);
  });

  it('adopts services already in the data plane without rewriting them', async () => {
    const { plane, reconciler } = setup();
    await plane.setService(WEB, [{ ...real('10.0.0.11'), via: hopFor('10.0.0.11') }]);
    await plane.setService(DNS, [{ ...real('10.0.0.13', 1, 53), via: hopFor('10.0.0.13') }]);
    plane.calls.length = 0;
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11')] }]);
    assert.deepEqual(plane.calls, ['remove 10.0.0.101:53'], 'only the stale service goes');
  });

  it('coalesces changes that arrive during a pass into one more pass', async () => {
    const { plane, reconciler } = setup();
    const first = reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11')] }]);
    void reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.12')] }]);
    const last = reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.13')] }]);
    await Promise.all([first, last]);
    assert.deepEqual(plane.calls, [
      'set 10.0.0.100:80 10.0.0.11:80*1',
      'set 10.0.0.100:80 10.0.0.13:80*1',
    ]);
  });

  it('logs a failed write, keeps going with other services and retries with backoff', async () => {
    const { plane, reconciler, clock } = setup();
    plane.failNext.add('10.0.0.100:80');
    await reconciler.set('vs', [
      { spec: WEB, reals: [real('10.0.0.11')] },
      { spec: DNS, reals: [real('10.0.0.13', 1, 53)] },
    ]);
    assert.deepEqual(plane.calls, ['set 10.0.0.101:53 10.0.0.13:53*1']);
    assert.deepEqual(reconciler.report(), { set: 1, removed: 0, unchanged: 0, failed: 1 });
    clock.advance(499);
    await reconciler.idle();
    assert.equal(plane.calls.length, 1, 'no retry before 500 ms');
    plane.failNext.add('10.0.0.100:80');
    clock.advance(1);
    await reconciler.idle();
    assert.equal(plane.calls.length, 1, 'the first retry failed too');
    assert.equal(plane.failNext.size, 0, 'the retry did try');
    clock.advance(999); // the delay doubled to 1000 ms
    await reconciler.idle();
    assert.equal(plane.calls.length, 1);
    clock.advance(1);
    await reconciler.idle();
    assert.deepEqual(plane.calls.slice(1), ['set 10.0.0.100:80 10.0.0.11:80*1']);
    assert.equal(reconciler.report().failed, 0);
  });

  it('forwards to reachable reals at once and adds the others when their next hop appears', async () => {
    const { plane, reconciler, hops, clock } = setup(['10.0.0.11']);
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11'), real('10.0.0.12')] }]);
    assert.deepEqual(plane.calls, ['set 10.0.0.100:80 10.0.0.11:80*1']);
    assert.equal(reconciler.report().failed, 1);
    hops.table.set('10.0.0.12', hopFor('10.0.0.12'));
    clock.advance(500);
    await reconciler.idle();
    assert.deepEqual(plane.calls.slice(1), ['set 10.0.0.100:80 10.0.0.11:80*1,10.0.0.12:80*1']);
  });

  it('writes nothing again while the same real stays unreachable', async () => {
    const { plane, reconciler, clock } = setup(['10.0.0.11']);
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11'), real('10.0.0.12')] }]);
    assert.deepEqual(plane.calls, ['set 10.0.0.100:80 10.0.0.11:80*1']);
    // The retry finds what is applied equal to what it can apply: nothing to write.
    clock.advance(500);
    await reconciler.idle();
    assert.deepEqual(plane.calls, ['set 10.0.0.100:80 10.0.0.11:80*1']);
    assert.deepEqual(reconciler.report(), { set: 0, removed: 0, unchanged: 0, failed: 1 });
  });

  it('rejects the second owner of one service and keeps the first', async () => {
    const { plane, reconciler } = setup();
    await reconciler.set('a', [{ spec: WEB, reals: [real('10.0.0.11')] }]);
    await reconciler.set('b', [{ spec: WEB, reals: [real('10.0.0.12')] }]);
    assert.deepEqual(plane.calls, ['set 10.0.0.100:80 10.0.0.11:80*1']);
  });

  it('does nothing more once closed', async () => {
    const { plane, reconciler, clock } = setup();
    plane.failNext.add('10.0.0.100:80');
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.11')] }]);
    await reconciler.close();
    clock.advance(60_000);
    await reconciler.set('vs1', [{ spec: WEB, reals: [real('10.0.0.12')] }]);
    assert.deepEqual(plane.calls, []);
    assert.equal(clock.pendingCount(), 0);
  });

  it('keeps up to concurrentServiceWrites services in flight, never more, and counts every outcome', async () => {
    const reachable = Array.from({ length: 20 }, (_, i) => `10.0.1.${i + 1}`);
    const hops = new TableNextHops(new Map(reachable.map((a) => [a, hopFor(a)])));
    // A data plane whose writes complete only when released, one per turn of the loop.
    const inner = new MemoryDataPlane();
    let inFlight = 0;
    let most = 0;
    const plane = Object.assign(Object.create(inner) as MemoryDataPlane, {
      concurrentServiceWrites: 3,
      async setService(...args: Parameters<MemoryDataPlane['setService']>) {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        if (args[0].vip === '10.0.0.7') throw new Error('refused');
        return inner.setService(...args);
      },
    });
    const reconciler = new Reconciler({ dataPlane: plane, nextHops: hops, clock: new FakeClock() });
    const services = reachable.map((address, i) => ({
      spec: { ...WEB, vip: `10.0.0.${i}` },
      reals: [real(address)],
    }));
    await reconciler.set('vs', services);
    assert.equal(most, 3, 'three writes overlapped, never four');
    assert.deepEqual(reconciler.report(), { set: 19, removed: 0, unchanged: 0, failed: 1 });
    assert.equal(inner.services().length, 19);
    await reconciler.close();
  });
});
