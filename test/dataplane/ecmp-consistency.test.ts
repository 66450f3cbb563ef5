/**
 * Directors behind ECMP: every director given the same reals and weights
 * picks the same real for a flow whatever order it learnt them in (mh), and a
 * segment of a flow another director opened is forwarded to that real by the
 * hash, without state. Real programs through BPF_PROG_TEST_RUN.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import { buildRing, ringIds } from '../../src/dataplane/xdp/ring.js';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { real, run, testPlane } from './support/harness.js';
import { frame, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './support/packet.js';

const VIP = '10.61.0.1';
const REALS = [1, 2, 3, 4].map((n) =>
  real(`10.61.1.${n}`, `02:00:00:00:61:0${n}`, { weight: n === 4 ? 2 : 1 }),
);

/** A deterministic shuffle (xorshift), so a failure names the seed that caused it. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function service(extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return { vip: VIP, port: 80, protocol: 'tcp', scheduler: 'mh', ...extra };
}

function segment(client: number, flags: number, sport = 40000): Buffer {
  return frame({
    src: `198.51.${client >> 8}.${client & 0xff}`,
    dst: VIP,
    proto: 'tcp',
    sport,
    dport: 80,
    tcpFlags: flags,
  });
}

/** The last byte of the destination MAC the program wrote: which real it chose. */
async function chosenReal(p: XdpDataPlane, data: Buffer): Promise<number | string> {
  const out = await run(p, data);
  return out.verdictName === 'XDP_TX' ? out.data[5]! : out.verdictName;
}

describe('consistent scheduling across directors (mh)', () => {
  it('builds the same slot → real table whatever order the reals come in', async () => {
    const byAddress = async (reals: readonly RealSpec[]) => {
      // Ids differ per director (they follow learning order); the addresses must not.
      const ring = await buildRing(
        service(),
        reals.map((spec, id) => ({ id: id + 10, spec })),
      );
      return Array.from(ringIds(ring), (id) => reals[id - 10]!.address);
    };
    const reference = await byAddress(REALS);
    for (const seed of [1, 7, 42, 1234, 99991]) {
      assert.deepEqual(await byAddress(shuffled(REALS, seed)), reference, `order of seed ${seed}`);
    }
    // An address written differently names the same real.
    const v6 = [
      real('2001:db8:61::a', '02:00:00:00:61:0a'),
      real('2001:db8:61::b', '02:00:00:00:61:0b'),
    ];
    const spelled = [{ ...v6[1]!, address: '2001:DB8:61:0:0:0:0:B' }, v6[0]!];
    const v6Ring = (reals: readonly RealSpec[]) =>
      buildRing(
        service(),
        reals.map((spec, id) => ({ id, spec })),
      ).then((r) => Array.from(ringIds(r), (id) => reals[id]!.via?.mac));
    assert.deepEqual(await v6Ring(spelled), await v6Ring(v6));
  });

  it('three directors that learnt the reals in different orders send each client to the same real', async (t) => {
    const directors: XdpDataPlane[] = [];
    for (const seed of [0, 5, 77]) {
      const p = await testPlane(t);
      const order = seed === 0 ? REALS : shuffled(REALS, seed);
      // Learnt one by one, as after health checks come up in a different order.
      await p.setService(service(), []);
      for (const r of order) await p.setReal({ vip: VIP, port: 80, protocol: 'tcp' }, r);
      directors.push(p);
    }
    const perReal = new Map<number | string, number>();
    for (let client = 1; client <= 200; client++) {
      const picks = await Promise.all(
        directors.map((p) => chosenReal(p, segment(client, TCP_SYN))),
      );
      assert.equal(new Set(picks).size, 1, `client ${client}: ${picks.join(', ')}`);
      perReal.set(picks[0]!, (perReal.get(picks[0]!) ?? 0) + 1);
    }
    assert.deepEqual([...perReal.keys()].sort(), [1, 2, 3, 4], 'every real takes clients');
  });
});

describe('segments of flows another director opened (mh behind ECMP)', () => {
  it('are forwarded by the hash to the real the SYN went to, without creating state', async (t) => {
    const opener = await testPlane(t);
    const other = await testPlane(t);
    await opener.setService(service(), REALS);
    await other.setService(service(), shuffled(REALS, 3));
    for (let client = 1; client <= 40; client++) {
      const real = await chosenReal(opener, segment(client, TCP_SYN));
      assert.equal(typeof real, 'number');
      for (const flags of [TCP_ACK, TCP_ACK | 0x08, TCP_FIN | TCP_ACK, TCP_RST]) {
        assert.equal(await chosenReal(other, segment(client, flags)), real, `client ${client}`);
      }
    }
    const counters = await other.counters();
    assert.equal(counters.hashForwarded, 160);
    assert.equal(counters.global.forwarded?.packets, 160);
    assert.equal(counters.global.passNotSyn?.packets ?? 0, 0);
    assert.equal(counters.connTable?.used, 0, 'no entry was written');
    assert.equal(
      counters.services.reduce((n, s) => n + s.newConnections, 0),
      0,
    );
  });

  it('are still passed to the kernel for rr, persistent mh, and NAT reals', async (t) => {
    const cases: [string, Partial<ServiceSpec>, Partial<RealSpec>][] = [
      ['rr', { scheduler: 'rr' }, {}],
      ['wrr', { scheduler: 'wrr' }, {}],
      ['sh', { scheduler: 'sh' }, {}],
      ['persistent mh', { persistence: { timeoutS: 300 } }, {}],
      ['mh with NAT reals', {}, { forwarding: 'nat', port: 8080 }],
    ];
    for (const [name, extra, realExtra] of cases) {
      const p = await testPlane(t);
      await p.setService(
        service(extra),
        REALS.map((r) => ({ ...r, ...realExtra })),
      );
      assert.equal(await chosenReal(p, segment(9, TCP_ACK)), 'XDP_PASS', name);
      const counters = await p.counters();
      assert.equal(counters.global.passNotSyn?.packets, 1, name);
      assert.equal(counters.hashForwarded, 0, name);
    }
  });
});
