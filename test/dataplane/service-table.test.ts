import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pinRoot } from '../../src/bpf/index.js';
import * as abi from '../../src/dataplane/abi.js';
import type { ServiceSpec } from '../../src/dataplane/dataplane.js';
import { setOf } from '../../src/dataplane/hash.js';
import {
  type ServiceKeyValue,
  ServiceTable,
  serviceSets,
  serviceTableSets,
} from '../../src/dataplane/service-table.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { real, run, testPlane } from './support/harness.js';
import { frame } from './support/packet.js';

const MAX_SERVICES = 16; // 16 sets of 4
const SETS = serviceTableSets(MAX_SERVICES);

const keyOf = (vip: string): ServiceKeyValue => {
  const family = abi.familyOf(vip, vip);
  return {
    addr: abi.addrBytes(family, vip),
    port: 80,
    proto: abi.PROTO.tcp,
    family: abi.FAMILY[family],
  };
};
const serviceFor = (vip: string): ServiceSpec => ({
  vip,
  port: 80,
  protocol: 'tcp',
  scheduler: 'rr',
});
const macOf = (i: number) => `02:00:00:00:61:${i.toString(16).padStart(2, '0')}`;

/** VIPs of one family whose first and second sets satisfy `want`, in a deterministic order. */
function vipsWhere(
  family: 'ipv4' | 'ipv6',
  count: number,
  want: (sets: [number, number]) => boolean,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  const out: string[] = [];
  for (let i = 1; out.length < count && i < 1_000_000; i++) {
    const vip =
      family === 'ipv4' ? `10.61.${(i >> 8) & 255}.${i & 255}` : `2001:db8:61::${i.toString(16)}`;
    if (!skip.has(vip) && want(serviceSets(keyOf(vip), SETS))) out.push(vip);
  }
  assert.equal(out.length, count, 'enough VIPs found');
  return out;
}

/** Sends a packet to `vip` and returns the last byte of the MAC it went to (or the verdict). */
async function forwardedTo(plane: XdpDataPlane, vip: string): Promise<number | string> {
  const client = vip.includes(':') ? '2001:db8:c::1' : '203.0.113.1';
  const out = await run(plane, frame({ src: client, dst: vip, proto: 'tcp', sport: 1, dport: 80 }));
  return out.verdictName === 'XDP_TX' ? out.data[5]! : out.verdictName;
}

describe('service table', () => {
  it('sizes the table as a power of two with a set per service', () => {
    assert.equal(serviceTableSets(1), 1);
    assert.equal(serviceTableSets(3), 4);
    assert.equal(serviceTableSets(64), 64);
    assert.equal(serviceTableSets(65), 128);
  });

  it('takes a set from the top bits of a hash, as lb_set_of does', () => {
    assert.equal(setOf(0xffffffff, 1), 0);
    assert.equal(setOf(0x7fffffff, 2), 0);
    assert.equal(setOf(0x80000000, 2), 1);
    assert.equal(setOf(0xfc000000, 64), 63);
    assert.equal(setOf(0x03ffffff, 64), 0);
    assert.equal(setOf(0xffffffff, 2 ** 24), 2 ** 24 - 1);
  });

  for (const family of ['ipv4', 'ipv6'] as const) {
    it(`a ${family} key whose first set is full lives in its second, and the program finds it`, async (t) => {
      const plane = await testPlane(t, { maxServices: MAX_SERVICES });
      const first = serviceSets(keyOf(vipsWhere(family, 1, () => true)[0]!), SETS)[0];
      // Five keys sharing a first set: the fifth must spill (to a different set).
      const vips = vipsWhere(family, 4, ([f]) => f === first);
      const spill = vipsWhere(family, 1, ([f, s]) => f === first && s !== first, new Set(vips))[0]!;
      vips.push(spill);
      assert.equal(new Set(vips).size, 5);
      for (const [i, vip] of vips.entries()) {
        await plane.setService(serviceFor(vip), [real(vip, macOf(i + 1))]);
      }
      const table = new ServiceTable(plane.map('services'));
      const [, second] = serviceSets(keyOf(spill), SETS);
      assert.deepEqual(
        table
          .entries()
          .map((e) => e.key.addr.toString('hex'))
          .sort(),
        vips.map((v) => keyOf(v).addr.toString('hex')).sort(),
      );
      const setValue = (set: number) => {
        const k = Buffer.alloc(4);
        k.writeUInt32LE(set);
        return plane.map('services').lookup(k)!;
      };
      const liveKeysIn = (set: number) => {
        const v = setValue(set);
        const keys: string[] = [];
        for (let way = 0; way < abi.SERVICE_WAYS; way++) {
          const slot = abi.serviceSlot.decode(
            v,
            abi.serviceSet.offsetOf('ways') + way * abi.serviceSlot.size,
          );
          if (abi.service.decode(slot.svc).live)
            keys.push(abi.serviceKey.decode(slot.key).addr.toString('hex'));
        }
        return keys;
      };
      assert.equal(liveKeysIn(first).length, 4, 'the first set is full');
      assert.ok(liveKeysIn(second).includes(keyOf(spill).addr.toString('hex')), 'spilled key');
      assert.equal(abi.serviceSet.decode(setValue(first)).spilled, 1, 'first set marked spilled');

      for (const [i, vip] of vips.entries()) {
        assert.equal(await forwardedTo(plane, vip), i + 1, `service ${vip} forwards`);
      }

      // Removing the spilled key clears the mark; the others keep forwarding.
      await plane.removeService(serviceFor(spill));
      assert.equal(abi.serviceSet.decode(setValue(first)).spilled, 0, 'mark cleared');
      assert.equal(await forwardedTo(plane, spill), 'XDP_PASS');
      for (const [i, vip] of vips.slice(0, 4).entries()) {
        assert.equal(await forwardedTo(plane, vip), i + 1, `service ${vip} still forwards`);
      }
    });
  }

  it('flips an entry only for the service id it holds', async (t) => {
    const plane = await testPlane(t, { maxServices: MAX_SERVICES });
    const vip = '10.61.200.1';
    await plane.setService(serviceFor(vip), [real(vip, macOf(1))]);
    const table = new ServiceTable(plane.map('services'));
    const entry = table.find(keyOf(vip));
    assert.ok(entry !== undefined);
    table.put(keyOf(vip), entry.id, 1 - entry.ringSlot, 'the service');
    assert.deepEqual(table.find(keyOf(vip)), { ...entry, ringSlot: 1 - entry.ringSlot });
    assert.throws(
      () => table.put(keyOf(vip), entry.id + 1, entry.ringSlot, 'the service'),
      (err) =>
        hasCode(err, 'DATAPLANE_INCONSISTENT') &&
        (err as Error).message ===
          `Cannot update the service: its table entry names service id ${entry.id}, not ${entry.id + 1}`,
    );
    assert.equal(table.find(keyOf(vip))?.ringSlot, 1 - entry.ringSlot, 'nothing written');
  });

  it('refuses a service whose two sets are both full, and changes nothing', async (t) => {
    const plane = await testPlane(t, { maxServices: MAX_SERVICES });
    const probe = vipsWhere('ipv4', 1, ([f, s]) => f !== s)[0]!;
    const [first, second] = serviceSets(keyOf(probe), SETS);
    const fillers = [
      ...vipsWhere('ipv4', 4, ([f]) => f === first, new Set([probe])),
      ...vipsWhere('ipv4', 4, ([f]) => f === second, new Set([probe])),
    ];
    for (const [i, vip] of fillers.entries()) {
      await plane.setService(serviceFor(vip), [real(vip, macOf(i + 1))]);
    }
    await assert.rejects(
      plane.setService(serviceFor(probe), [real(probe, macOf(99))]),
      (err) =>
        hasCode(err, 'DATAPLANE_FULL') &&
        /Cannot add service TCP 10\.61\.[0-9.]+:80: both of its service-table sets/.test(
          (err as Error).message,
        ),
    );
    assert.equal(plane.services().length, fillers.length);
    assert.equal(await forwardedTo(plane, probe), 'XDP_PASS');
    for (const [i, vip] of fillers.entries()) {
      assert.equal(await forwardedTo(plane, vip), i + 1, `service ${vip} forwards`);
    }
    // The refused service's ids were released: removing one filler makes room for it.
    await plane.removeService(serviceFor(fillers[0]!));
    await plane.setService(serviceFor(probe), [real(probe, macOf(99))]);
    assert.equal(await forwardedTo(plane, probe), 99);
  });

  it('a restarted instance adopts spilled services and their settings', async () => {
    const instance = `lbt-svc-${randomBytes(3).toString('hex')}`;
    const options = { instance, maxServices: MAX_SERVICES, maxReals: 32, connections: 1024 };
    try {
      const first = await XdpDataPlane.open(options);
      const set0 = serviceSets(keyOf(vipsWhere('ipv4', 1, () => true)[0]!), SETS)[0];
      const vips = vipsWhere('ipv4', 5, ([f, s]) => f === set0 && s !== set0);
      const specs = vips.map(
        (vip, i): ServiceSpec => ({
          ...serviceFor(vip),
          scheduler: i % 2 === 0 ? 'mh' : 'wrr',
          ...(i === 4 ? { persistence: { timeoutS: 60, prefixLength: 24 } } : {}),
        }),
      );
      try {
        for (const [i, spec] of specs.entries()) {
          await first.setService(spec, [real(spec.vip, macOf(i + 1))]);
        }
      } finally {
        await first.close();
      }
      const again = await XdpDataPlane.open(options);
      try {
        const byVip = new Map(again.services().map((s) => [s.service.vip, s.service]));
        for (const spec of specs) assert.deepEqual(byVip.get(spec.vip), spec);
        for (const [i, vip] of vips.entries()) assert.equal(await forwardedTo(again, vip), i + 1);
      } finally {
        await again.destroy();
      }
    } finally {
      rmSync(join(pinRoot, instance), { recursive: true, force: true });
    }
  });
});
