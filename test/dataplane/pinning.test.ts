import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pinRoot } from '../../src/bpf/index.js';
import * as abi from '../../src/dataplane/abi.js';
import { connEntries, connTableSets } from '../../src/dataplane/conn-table.js';
import { OWNER_PIN } from '../../src/dataplane/pin-directory.js';
import { ServiceTable, serviceSets } from '../../src/dataplane/service-table.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { bytesToAddress } from '../../src/net/address.js';
import { flowHashKeyOf, flowSets } from './support/flow-hash.js';
import { real, run } from './support/harness.js';
import { frame, TCP_ACK, TCP_SYN } from './support/packet.js';

const small = { maxServices: 2, maxReals: 8, connections: 1024, persistenceEntries: 256 };
const service = { vip: '10.40.0.1', port: 80, protocol: 'tcp', scheduler: 'rr' } as const;

describe('pinned maps per instance', () => {
  const names = [
    `lbt-pin-${randomBytes(3).toString('hex')}`,
    `lbt-pin-${randomBytes(3).toString('hex')}`,
    `lbt-pin-${randomBytes(3).toString('hex')}`,
    `lbt-pin-${randomBytes(3).toString('hex')}`,
    `lbt-pin-${randomBytes(3).toString('hex')}`,
    `lbt-pin-${randomBytes(3).toString('hex')}`,
    `lbt-pin-${randomBytes(3).toString('hex')}`,
  ];
  after(() => {
    for (const n of names) rmSync(join(pinRoot, n), { recursive: true, force: true });
  });

  it('keeps two instances apart and survives a restart of one', async () => {
    const [nameA, nameB] = names as [string, string];
    const a = await XdpDataPlane.open({ instance: nameA, ...small });
    const b = await XdpDataPlane.open({ instance: nameB, ...small });
    try {
      await a.setService(service, [real('10.40.0.10', '02:00:00:00:40:01')]);
      const out = await run(
        a,
        frame({ src: '203.0.113.1', dst: service.vip, proto: 'tcp', sport: 1, dport: 80 }),
      );
      assert.equal(out.verdictName, 'XDP_TX');
      assert.equal(new ServiceTable(a.map('services')).entries().length, 1);
      assert.equal(
        new ServiceTable(b.map('services')).entries().length,
        0,
        'instance B sees none of A',
      );
      const pins = readdirSync(join(pinRoot, nameA)).sort();
      // Every map but lb_tx_ports, and the owner record.
      const expected = [
        ...Object.values(abi.MAPS).filter((m) => m !== abi.MAPS.txPorts),
        OWNER_PIN,
      ];
      assert.deepEqual(pins, expected.sort());
    } finally {
      await a.close();
      await b.destroy();
    }
    assert.equal(existsSync(join(pinRoot, nameB)), false, 'destroy removed B’s pins');

    // A restarted: same maps, same service, counters kept, established flow kept.
    const again = await XdpDataPlane.open({ instance: nameA, ...small });
    try {
      assert.deepEqual(again.services(), [
        { service, reals: [{ ...real('10.40.0.10', '02:00:00:00:40:01') }] },
      ]);
      const c = await again.counters();
      assert.equal(c.services[0]?.newConnections, 1);
      const out = await run(
        again,
        frame({ src: '203.0.113.1', dst: service.vip, proto: 'tcp', sport: 1, dport: 80 }),
      );
      assert.equal(out.verdictName, 'XDP_TX');
      assert.equal((await again.counters()).services[0]?.newConnections, 1, 'still the same flow');
      // Re-applying the same desired state keeps ids, so nothing is rescheduled.
      await again.setService(service, [real('10.40.0.10', '02:00:00:00:40:01')]);
      assert.equal((await again.counters()).services[0]?.reals[0]?.newConnections, 1);
      // bpftool prints field names thanks to BTF.
      const dump = execFileSync(
        'bpftool',
        ['map', 'dump', 'pinned', join(pinRoot, nameA, abi.MAPS.reals)],
        {
          encoding: 'utf8',
        },
      );
      assert.match(dump, /"service_id": 0/);
      assert.match(dump, /"weight": 1/);
    } finally {
      await again.destroy();
    }
  });

  it('refuses instance names that are not a single path component', async () => {
    for (const instance of ['', '../x', 'a/b', '.hidden']) {
      await assert.rejects(XdpDataPlane.open({ instance, ...small }), (err) =>
        hasCode(err, 'DATAPLANE_INVALID_INSTANCE'),
      );
    }
  });

  it('refuses to adopt pinned state with an ABI code it does not know, naming it', async () => {
    const name = names[2] as string;
    const first = await XdpDataPlane.open({ instance: name, ...small });
    try {
      await first.setService(service, [real('10.40.0.10', '02:00:00:00:40:01')]);
      const reals = first.map('reals');
      for (const [key, value] of reals.entries()) {
        const entry = abi.real.decode(value);
        if ((entry.flags & abi.REAL_F_ACTIVE) === 0) continue;
        const changed = Buffer.from(value);
        changed.writeUInt8(9, abi.real.offsetOf('fwd'));
        reals.update(key, changed);
      }
    } finally {
      await first.close();
    }
    await assert.rejects(
      XdpDataPlane.open({ instance: name, ...small }),
      (err: Error) =>
        hasCode(err, 'DATAPLANE_PINNED_STATE_UNKNOWN') &&
        /forwarding method code 9/.test(err.message),
    );
  });

  it('refuses pinned tables of another size, naming both sizes, and keeps them for the earlier size', async () => {
    const name = names[3] as string;
    const first = await XdpDataPlane.open({ instance: name, ...small });
    try {
      await first.setService(service, [real('10.40.0.10', '02:00:00:00:40:01')]);
    } finally {
      await first.close();
    }
    const pins = join(pinRoot, name);
    await assert.rejects(
      XdpDataPlane.open({ instance: name, ...small, connections: 4096 }),
      (err: Error) =>
        hasCode(err, 'DATAPLANE_PINNED_MISMATCH') &&
        err.message.includes(
          `${join(pins, abi.MAPS.conns)}: an earlier run pinned it with 1,024 connections`,
        ) &&
        err.message.includes('this start needs 4,096 connections') &&
        err.message.includes(`remove ${pins}`),
    );
    await assert.rejects(
      XdpDataPlane.open({ instance: name, ...small, maxReals: 16 }),
      (err: Error) =>
        hasCode(err, 'DATAPLANE_PINNED_MISMATCH') && err.message.includes(abi.MAPS.reals),
    );
    const again = await XdpDataPlane.open({ instance: name, ...small });
    try {
      assert.equal(again.services().length, 1, 'the refused starts left the pinned state alone');
    } finally {
      await again.destroy();
    }
  });

  it("refuses a pinned service table that another version's hash placed, and leaves it alone", async () => {
    const name = names[4] as string;
    const settings = { ...small, maxServices: 8 };
    const first = await XdpDataPlane.open({ instance: name, ...settings });
    try {
      await first.setService(service, [real('10.40.0.10', '02:00:00:00:40:01')]);
      // What a version with other table hashes leaves: the entry in a set this hash never picks.
      const map = first.map('services');
      const table = new ServiceTable(map);
      const [entry] = table.entries();
      assert.ok(entry !== undefined);
      const own = serviceSets(entry.key, table.sets);
      const elsewhere = [...Array(table.sets).keys()].find((set) => !own.includes(set));
      assert.ok(elsewhere !== undefined);
      const setKey = (set: number) => Buffer.from(new Uint32Array([set]).buffer);
      const value = Buffer.from(map.lookup(setKey(entry.set))!);
      map.update(setKey(elsewhere), value);
      map.update(setKey(entry.set), Buffer.alloc(value.length));
    } finally {
      await first.close();
    }
    await assert.rejects(
      XdpDataPlane.open({ instance: name, ...settings }),
      (err: Error) =>
        hasCode(err, 'DATAPLANE_PINNED_MISMATCH') &&
        err.message.includes(
          `service ${service.vip}:${service.port} sits in ${abi.MAPS.services} set`,
        ) &&
        err.message.includes('remove the instance pin directory'),
    );
    assert.ok(
      existsSync(join(pinRoot, name, abi.MAPS.services)),
      'the refused start kept the pins',
    );
  });
  it('keys each instance’s flow hash apart, each finding its own flows, and keeps the key across a restart', async () => {
    const [nameA, nameB] = names.slice(5) as [string, string];
    const sets = connTableSets(small.connections);
    // Ports from a digest, not counting up with the clients: multiply-shift crowds flows whose
    // words form an arithmetic progression into one or two sets under about one key in 100,000
    // (docs/data-plane.md, "75 % is a likelihood, not a guarantee"), which would evict flows
    // here by bad luck.
    // IPv6 flows too, so the IPv6 hash is proven to match flowSets as well.
    const service6 = { ...service, vip: '2001:db8:40::1' } as const;
    const sport = (i: number) =>
      1024 + (createHash('sha256').update(`flow ${i}`).digest().readUInt16BE() % 60000);
    const flows = [
      ...Array.from(
        { length: 32 },
        (_, i) =>
          ({
            src: `203.0.113.${i + 1}`,
            dst: service.vip,
            proto: 'tcp',
            sport: sport(i),
            dport: 80,
          }) as const,
      ),
      ...Array.from(
        { length: 16 },
        (_, i) =>
          ({
            src: `2001:db8:c:${i + 1}::${i + 1}`,
            dst: service6.vip,
            proto: 'tcp',
            sport: sport(32 + i),
            dport: 80,
          }) as const,
      ),
    ];
    const reals = [
      real('10.40.0.10', '02:00:00:00:40:01'),
      real('10.40.0.11', '02:00:00:00:40:02'),
    ];
    const reals6 = [
      real('2001:db8:40::10', '02:00:00:00:40:01'),
      real('2001:db8:40::11', '02:00:00:00:40:02'),
    ];
    const verdicts = async (plane: XdpDataPlane, tcpFlags = TCP_SYN) => {
      const out: string[] = [];
      for (const f of flows) out.push((await run(plane, frame({ ...f, tcpFlags }))).verdictName);
      return out;
    };
    const allTx = flows.map(() => 'XDP_TX');
    // Each flow's set in the program's table, by client address.
    const placement = (plane: XdpDataPlane) =>
      new Map(
        connEntries(plane.map('conns')).map((e) => [
          bytesToAddress(e.key.family === abi.FAMILY.ipv4 ? e.key.src.subarray(0, 4) : e.key.src),
          e.set,
        ]),
      );
    const newConnections = async (plane: XdpDataPlane) =>
      (await plane.counters()).services.reduce((sum, c) => sum + c.newConnections, 0);

    const a = await XdpDataPlane.open({ instance: nameA, ...small });
    const b = await XdpDataPlane.open({ instance: nameB, ...small });
    let keyA: Buffer;
    let placedA: Map<string, number>;
    try {
      for (const plane of [a, b]) {
        await plane.setService(service, reals);
        await plane.setService(service6, reals6);
        // sloppy_tcp is off: an ACK opens no flow, so XDP_TX below means the flow was found.
        assert.equal(
          (await run(plane, frame({ ...flows[0]!, tcpFlags: TCP_ACK }))).verdictName,
          'XDP_PASS',
        );
        assert.deepEqual(await verdicts(plane), allTx, 'every SYN scheduled');
        assert.deepEqual(await verdicts(plane, TCP_ACK), allTx, 'every flow found again');
        assert.equal(await newConnections(plane), flows.length);
      }
      keyA = flowHashKeyOf(a);
      const keyB = flowHashKeyOf(b);
      assert.notDeepEqual(keyA, keyB, 'each instance drew its own key');
      placedA = placement(a);
      const placedB = placement(b);
      for (const [plane, key, placed] of [
        [a, keyA, placedA],
        [b, keyB, placedB],
      ] as const) {
        assert.equal(placed.size, flows.length, `${plane.pinDir}: one entry per flow`);
        for (const f of flows) {
          assert.ok(
            flowSets(f, sets, key).includes(placed.get(f.src)!),
            `${f.src} sits in one of its sets under its instance's key`,
          );
        }
      }
      assert.ok(
        flows.some((f) => placedA.get(f.src) !== placedB.get(f.src)),
        'the two keys place the same flows differently',
      );
    } finally {
      await a.close();
      await b.destroy();
    }

    // A restarted over its pins: the same key, so its flows are found where they are.
    const again = await XdpDataPlane.open({ instance: nameA, ...small });
    try {
      assert.deepEqual(flowHashKeyOf(again), keyA, 'the adopted key');
      assert.deepEqual(await verdicts(again, TCP_ACK), allTx, 'every flow found after the restart');
      assert.equal(await newConnections(again), flows.length, 'none rescheduled');
      assert.deepEqual(placement(again), placedA);
    } finally {
      await again.destroy();
    }
  });
});
