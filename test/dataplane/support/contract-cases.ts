/**
 * The DataPlane contract: one table of cases every data plane runs
 * (test/dataplane/contract.test.ts for the in-memory and XDP ones,
 * test/ipvs/contract.ipvs-suite.ts for kernel IPVS in the VM), asserting
 * the same observable results.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DataPlane, RealSpec, ServiceSpec } from '../../../src/dataplane/dataplane.js';
import type { ErrorCode } from '../../../src/error-codes.js';
import { hasCode } from '../../../src/errors.js';

const WEB: ServiceSpec = { vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'wrr' };
const via = { interface: 'lo', mac: '02:00:00:00:00:01' };
const real = (address: string, weight = 1, extra: Partial<RealSpec> = {}): RealSpec => ({
  address,
  port: 80,
  weight,
  forwarding: 'dr',
  via,
  ...extra,
});

/** What a test can observe of a data plane: its services, reals sorted, weights. */
export function observe(plane: DataPlane): string[] {
  return plane
    .services()
    .map(
      ({ service, reals }) =>
        `${service.protocol} ${service.vip}:${service.port} ${service.scheduler}` +
        `${service.persistence ? ` p${service.persistence.timeoutS}` : ''}` +
        `${service.persistence?.prefixLength !== undefined ? `/${service.persistence.prefixLength}` : ''} ` +
        reals
          .map((r) => `${r.address}:${r.port}*${r.weight}/${r.forwarding}`)
          .sort()
          .join(','),
    )
    .sort();
}

export interface Case {
  readonly name: string;
  run(plane: DataPlane): Promise<void>;
  readonly expect: string[] | { code: ErrorCode };
}

export const CASES: Case[] = [
  {
    name: 'set adds a service with its reals',
    run: (p) => p.setService(WEB, [real('10.0.0.11'), real('10.0.0.12', 2)]),
    expect: ['tcp 10.0.0.100:80 wrr 10.0.0.11:80*1/dr,10.0.0.12:80*2/dr'],
  },
  {
    name: 'set again replaces settings and real set',
    run: async (p) => {
      await p.setService(WEB, [real('10.0.0.11'), real('10.0.0.12')]);
      await p.setService({ ...WEB, scheduler: 'mh' }, [real('10.0.0.13', 3)]);
    },
    expect: ['tcp 10.0.0.100:80 mh 10.0.0.13:80*3/dr'],
  },
  {
    name: 'weight 0 drains a real but keeps it',
    run: async (p) => {
      await p.setService(WEB, [real('10.0.0.11'), real('10.0.0.12')]);
      await p.setReal(WEB, real('10.0.0.12', 0));
    },
    expect: ['tcp 10.0.0.100:80 wrr 10.0.0.11:80*1/dr,10.0.0.12:80*0/dr'],
  },
  {
    name: 'removeReal and removeService',
    run: async (p) => {
      await p.setService(WEB, [real('10.0.0.11'), real('10.0.0.12')]);
      await p.setService({ ...WEB, port: 443 }, [real('10.0.0.11', 1, { port: 443 })]);
      await p.removeReal(WEB, '10.0.0.12', 80);
      await p.removeService({ ...WEB, port: 443 });
    },
    expect: ['tcp 10.0.0.100:80 wrr 10.0.0.11:80*1/dr'],
  },
  {
    name: 'an all-ports service with persistence',
    run: (p) =>
      p.setService({ ...WEB, port: 0, scheduler: 'sh', persistence: { timeoutS: 300 } }, [
        real('10.0.0.11', 1, { port: 0 }),
      ]),
    expect: ['tcp 10.0.0.100:0 sh p300 10.0.0.11:0*1/dr'],
  },
  {
    name: 'persistence with a granularity',
    run: (p) =>
      p.setService({ ...WEB, scheduler: 'mh', persistence: { timeoutS: 60, prefixLength: 24 } }, [
        real('10.0.0.11'),
      ]),
    expect: ['tcp 10.0.0.100:80 mh p60/24 10.0.0.11:80*1/dr'],
  },
  {
    name: 'NAT translates to the real port, TUN keeps the service port',
    run: async (p) => {
      await p.setService(WEB, [
        real('10.0.0.11', 1, { forwarding: 'nat', port: 8080 }),
        real('10.0.0.12', 1, { forwarding: 'tun' }),
      ]);
    },
    expect: ['tcp 10.0.0.100:80 wrr 10.0.0.11:8080*1/nat,10.0.0.12:80*1/tun'],
  },
  {
    name: 'DR cannot mix address families',
    run: (p) => p.setService(WEB, [real('2001:db8::11')]),
    expect: { code: 'DATAPLANE_INVALID_SERVICE' },
  },
  {
    name: 'an all-ports service without persistence is refused',
    run: (p) => p.setService({ ...WEB, port: 0 }, [real('10.0.0.11', 1, { port: 0 })]),
    expect: { code: 'DATAPLANE_INVALID_SERVICE' },
  },
  {
    name: 'DR cannot change the port',
    run: (p) => p.setService(WEB, [real('10.0.0.11', 1, { port: 8080 })]),
    expect: { code: 'DATAPLANE_INVALID_SERVICE' },
  },
  {
    name: 'a scheduler option the data plane lacks is refused by code',
    run: (p) => p.setService({ ...WEB, hashSourcePort: true }, [real('10.0.0.11')]),
    expect: { code: 'DATAPLANE_UNSUPPORTED_SCHEDULER' },
  },
  {
    name: 'removing an unknown service is an error',
    run: (p) => p.removeService(WEB),
    expect: { code: 'DATAPLANE_NO_SUCH_SERVICE' },
  },
  {
    name: 'timeouts must be positive',
    run: (p) => p.setTimeouts({ tcpS: 0, tcpFinS: 120, udpS: 300 }),
    expect: { code: 'DATAPLANE_INVALID_TIMEOUT' },
  },
  {
    name: 'a refused set leaves the previous version in place',
    run: async (p) => {
      await p.setService(WEB, [real('10.0.0.11')]);
      await p.setService(WEB, [real('10.0.0.11'), real('10.0.0.11')]).catch(() => undefined);
    },
    expect: ['tcp 10.0.0.100:80 wrr 10.0.0.11:80*1/dr'],
  },
];

/** Runs every case against planes `open` gives, one fresh plane per case. */
export function contractCases(
  open: (cleanup: { after(fn: () => unknown): void }) => Promise<DataPlane>,
): void {
  for (const c of CASES) {
    it(c.name, async (t) => {
      const plane = await open(t);
      if (Array.isArray(c.expect)) {
        await c.run(plane);
        assert.deepEqual(observe(plane), c.expect);
        const counters = await plane.counters();
        assert.equal(counters.services.length, c.expect.length);
      } else {
        const { code } = c.expect;
        await assert.rejects(c.run(plane), (err: Error) => hasCode(err, code));
      }
    });
  }
}
