import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredService } from '../../src/reconcile/desired-services.js';
import { RuntimeOverrides } from '../../src/reconcile/runtime-overrides.js';

const spec = { vip: '10.0.0.100', port: 80, protocol: 'tcp' as const, scheduler: 'rr' as const };
const services: DesiredService[] = [
  {
    spec,
    reals: [
      { address: '10.0.0.11', port: 80, weight: 1, forwarding: 'dr' },
      { address: '10.0.0.12', port: 80, weight: 0, forwarding: 'dr' },
      { address: '10.0.0.13', port: 80, weight: 5, forwarding: 'dr' },
    ],
  },
];

describe('runtime overrides', () => {
  it('sets a weight or quiesces, never revives a real health keeps at 0, and clears', () => {
    const o = new RuntimeOverrides();
    assert.deepEqual(o.apply(services), services);
    o.set(spec, '10.0.0.11', 80, { kind: 'weight', weight: 7 });
    o.set(spec, '10.0.0.12', 80, { kind: 'weight', weight: 7 });
    o.set(spec, '10.0.0.13', 80, { kind: 'quiesce' });
    assert.deepEqual(
      o.apply(services)[0]!.reals.map((r) => r.weight),
      [7, 0, 0],
    );
    // The input is not modified.
    assert.deepEqual(
      services[0]!.reals.map((r) => r.weight),
      [1, 0, 5],
    );
    assert.equal(o.clear(spec, '10.0.0.13', 80), true);
    assert.equal(o.clear(spec, '10.0.0.13', 80), false);
    assert.deepEqual(
      o.apply(services)[0]!.reals.map((r) => r.weight),
      [7, 0, 5],
    );
    o.clearAll();
    assert.equal(o.size, 0);
  });

  it('keys by service: the same real in another service is not affected', () => {
    const o = new RuntimeOverrides();
    o.set({ ...spec, port: 443 }, '10.0.0.11', 80, { kind: 'quiesce' });
    assert.equal(o.apply(services)[0]!.reals[0]!.weight, 1);
  });
});
