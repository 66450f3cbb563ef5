import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnnounceCandidate, DirectorCondition } from '../../src/daemon/announced-vips.js';
import { BgpService } from '../../src/daemon/bgp-service.js';
import { silentLogger } from '../../src/log.js';
import { MemoryAnnouncedRoutes } from '../../src/netlink/testing/memory-announced-routes.js';
import { FakeClock } from '../../src/time/fake-clock.js';

/** Virtual servers and director condition the test changes, telling the service each time. */
class Sources {
  candidates: AnnounceCandidate[] = [
    { name: 'web', vips: ['10.1.0.1'], announce: true, serving: true },
    { name: 'tls', vips: ['10.1.0.1'], announce: true, serving: true },
    { name: 'dns', vips: ['2001:DB8::53'], announce: true, serving: true },
    { name: 'quiet', vips: ['10.1.0.9'], announce: false, serving: true },
  ];
  director: DirectorCondition = {};
  private listeners = new Set<() => void>();

  readonly api = {
    candidates: () => this.candidates,
    condition: () => this.director,
    onChange: (listener: () => void) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    },
  };

  set(name: string, serving: boolean): void {
    this.candidates = this.candidates.map((c) => (c.name === name ? { ...c, serving } : c));
    this.changed();
  }

  changed(): void {
    for (const listener of this.listeners) listener();
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function started(leftovers: string[] = [], withdrawDelayMs = 0) {
  const clock = new FakeClock();
  const sources = new Sources();
  const routes = new MemoryAnnouncedRoutes(leftovers);
  const service = new BgpService({
    settings: { table: 200, withdrawDelayMs },
    logger: silentLogger(),
    clock,
    sources: sources.api,
    openRoutes: (table) => {
      assert.equal(table, 200);
      return routes;
    },
  });
  await service.start();
  return { clock, sources, routes, service };
}

const table = (routes: MemoryAnnouncedRoutes) => [...routes.routes].sort();

describe('BGP announcement', () => {
  it('announces each VIP it can serve, not the ones left out, and clears a crashed run', async () => {
    const { routes, service } = await started(['10.1.0.77']);
    assert.deepEqual(table(routes), ['10.1.0.1', '2001:db8::53']);
    await service.close();
  });

  it('withdraws a VIP when one of its virtual servers loses quorum, and announces it again', async () => {
    const { sources, routes, service } = await started();
    sources.set('tls', false);
    await settle();
    assert.deepEqual(table(routes), ['2001:db8::53'], 'the VIP of a server without quorum');
    sources.set('tls', true);
    await settle();
    assert.deepEqual(table(routes), ['10.1.0.1', '2001:db8::53']);
    await service.close();
  });

  it('withdraws everything on VRRP FAULT or a failed data-plane update, until it recovers', async () => {
    const { sources, routes, service } = await started();
    for (const director of [{ vrrpFault: 'VI_1' }, { dataPlaneFailed: true }]) {
      sources.director = director;
      sources.changed();
      await settle();
      assert.deepEqual(table(routes), [], JSON.stringify(director));
      sources.director = {};
      sources.changed();
      await settle();
      assert.deepEqual(table(routes), ['10.1.0.1', '2001:db8::53']);
    }
    await service.close();
  });

  it('puts back a route removed by hand at the next recheck', async () => {
    const { clock, routes, service } = await started();
    routes.routes.delete('10.1.0.1');
    clock.advance(1000);
    await settle();
    await settle();
    assert.deepEqual(table(routes), ['10.1.0.1', '2001:db8::53']);
    await service.close();
  });

  it('at shutdown withdraws first, then waits withdrawDelayMs before the data plane may stop', async () => {
    const { clock, routes, service } = await started([], 500);
    let closed = false;
    const closing = service.close().then(() => {
      closed = true;
    });
    await settle();
    assert.deepEqual(table(routes), [], 'withdrawn at once');
    clock.advance(499);
    await settle();
    assert.equal(closed, false, 'still waiting for routers to move traffic away');
    clock.advance(1);
    await closing;
    assert.equal(routes.closed, true);
  });
});
