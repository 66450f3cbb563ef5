import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Forwarding, ServiceSpec } from '../../src/dataplane/dataplane.js';
import { freezeState } from '../../src/health/desired-state.js';
import { desiredServices } from '../../src/reconcile/desired-services.js';
import type { MappedVirtualServer } from '../../src/reconcile/service-mapping.js';

const SERVICE: ServiceSpec = { vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' };

function mapped(
  sorry: string | undefined,
  forwarding: Forwarding = 'dr',
  plane: 'xdp' | 'ipvs' = 'xdp',
): MappedVirtualServer {
  return {
    name: 'TCP 10.0.0.100:80',
    services: [SERVICE],
    vips: ['10.0.0.100'],
    plane,
    reals: [
      { address: '10.0.0.11', port: 8080, weight: 1, forwarding },
      { address: '10.0.0.12', port: 8080, weight: 1, forwarding },
    ],
    ...(sorry !== undefined
      ? { sorry: { address: sorry, port: 80, weight: 1, forwarding: 'dr' } }
      : {}),
  };
}

const isLocal = (address: string) => address.startsWith('127.') || address === '10.0.0.2';

describe('desired services from health state', () => {
  it('gives DR reals the service port and NAT reals their own', () => {
    const state = (forwarding: Forwarding) =>
      freezeState({
        reals: [
          { address: '10.0.0.11', port: 8080, weight: 2, forwarding },
          { address: '10.0.0.12', port: 8080, weight: 0, forwarding },
        ],
        quorumUp: true,
      });
    assert.deepEqual(desiredServices(mapped(undefined, 'dr'), state('dr'), isLocal)[0]?.reals, [
      { address: '10.0.0.11', port: 80, weight: 2, forwarding: 'dr' },
      { address: '10.0.0.12', port: 80, weight: 0, forwarding: 'dr' },
    ]);
    assert.deepEqual(desiredServices(mapped(undefined, 'nat'), state('nat'), isLocal)[0]?.reals, [
      { address: '10.0.0.11', port: 8080, weight: 2, forwarding: 'nat' },
      { address: '10.0.0.12', port: 8080, weight: 0, forwarding: 'nat' },
    ]);
  });

  it('forwards to a remote sorry server like a real', () => {
    const state = freezeState({
      reals: [],
      sorry: { address: '10.0.0.50', port: 80, weight: 1, forwarding: 'dr' },
      quorumUp: false,
    });
    assert.deepEqual(desiredServices(mapped('10.0.0.50'), state, isLocal), [
      { spec: SERVICE, reals: [{ address: '10.0.0.50', port: 80, weight: 1, forwarding: 'dr' }] },
    ]);
  });

  it('leaves the service to the director itself while a local sorry server is in charge', () => {
    const state = freezeState({
      reals: [{ address: '10.0.0.11', port: 8080, weight: 0, forwarding: 'dr' }],
      sorry: { address: '127.0.0.1', port: 80, weight: 1, forwarding: 'dr' },
      quorumUp: false,
    });
    assert.deepEqual(desiredServices(mapped('127.0.0.1'), state, isLocal), []);
  });

  it('on IPVS forwards to a local sorry server like a real (the kernel makes it Local, as for keepalived)', () => {
    const state = freezeState({
      reals: [{ address: '10.0.0.11', port: 8080, weight: 0, forwarding: 'dr' }],
      sorry: { address: '127.0.0.1', port: 80, weight: 1, forwarding: 'dr' },
      quorumUp: false,
    });
    assert.deepEqual(desiredServices(mapped('127.0.0.1', 'dr', 'ipvs'), state, isLocal), [
      {
        spec: SERVICE,
        reals: [
          { address: '10.0.0.11', port: 80, weight: 0, forwarding: 'dr' },
          { address: '127.0.0.1', port: 80, weight: 1, forwarding: 'dr' },
        ],
        // IPVS routes by itself: the reconciler looks up no next hops for it.
        nextHops: false,
      },
    ]);
  });

  it('gives TUN reals their configured tunnel, whatever health reports', () => {
    const gue = { type: 'gue', port: 6080, checksum: 'csum' } as const;
    const m = mapped(undefined, 'tun', 'ipvs');
    const withTunnel = { ...m, reals: m.reals.map((r) => ({ ...r, tunnel: gue })) };
    const state = freezeState({
      reals: [{ address: '10.0.0.11', port: 8080, weight: 3, forwarding: 'tun' }],
      quorumUp: true,
    });
    assert.deepEqual(desiredServices(withTunnel, state, isLocal)[0]?.reals, [
      { address: '10.0.0.11', port: 80, weight: 3, forwarding: 'tun', tunnel: gue },
    ]);
  });

  it('keeps the service without the local sorry server while it waits at weight 0', () => {
    const state = freezeState({
      reals: [{ address: '10.0.0.11', port: 8080, weight: 1, forwarding: 'dr' }],
      sorry: { address: '10.0.0.2', port: 80, weight: 0, forwarding: 'dr' },
      quorumUp: true,
    });
    assert.deepEqual(desiredServices(mapped('10.0.0.2'), state, isLocal)[0]?.reals, [
      { address: '10.0.0.11', port: 80, weight: 1, forwarding: 'dr' },
    ]);
  });
});
