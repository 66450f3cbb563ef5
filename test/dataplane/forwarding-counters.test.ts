/**
 * The program counts a forwarded packet in its real's entry only; a service's
 * figures and the global `forwarded` are the live reals' summed plus the
 * totals of the reals lost, which user space carries
 * (src/dataplane/xdp/forwarding-counters.ts). These tests drive real packets
 * through the loaded program and check the figures that counters() (metrics,
 * status) reports across everything that changes real ids.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pinRoot } from '../../src/bpf/index.js';
import * as abi from '../../src/dataplane/abi.js';
import type { DataPlaneCounters, RealSpec } from '../../src/dataplane/dataplane.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { real, run, testPlane } from './support/harness.js';
import { frame, TCP_ACK } from './support/packet.js';

const VIP = '10.41.0.1';
const service = { vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr' } as const;
// Four real ids (1-4): the fifth real allocated reuses the first one freed.
const tables = { maxServices: 2, maxReals: 5, connections: 1024, persistenceEntries: 256 };
const realA = real('10.41.0.10', '02:00:00:00:41:0a');
const realB = real('10.41.0.11', '02:00:00:00:41:0b');
const realC = real('10.41.0.12', '02:00:00:00:41:0c');
const realD = real('10.41.0.13', '02:00:00:00:41:0d');

let nextPort = 1000;
/** A SYN of a new flow: scheduled (rr) and counted as a new connection. */
const syn = () =>
  frame({ src: '203.0.113.7', dst: VIP, proto: 'tcp', sport: nextPort++, dport: 80 });
/** The IP bytes the program counts for these frames (Ethernet header off). */
const ipBytes = (frames: readonly Buffer[]) => frames.reduce((n, f) => n + f.length - 14, 0);
const IP_BYTES = ipBytes([syn()]);

/** Sends `n` new flows and checks each was forwarded. */
async function send(plane: XdpDataPlane, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await run(plane, syn())).verdictName, 'XDP_TX');
}

/** The id of the live lb_reals entry of `r` (found by its MAC). */
function liveIdOf(plane: XdpDataPlane, r: RealSpec): number | undefined {
  for (const [key, value] of plane.map('reals').entries()) {
    const entry = abi.real.decode(value);
    if (entry.flags !== 0 && String(entry.mac).toLowerCase() === r.via?.mac) {
      return key.readUInt32LE(0);
    }
  }
  return undefined;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function figures(c: DataPlaneCounters) {
  const s = c.services[0];
  assert.ok(s !== undefined);
  return {
    service: { packets: s.packets, bytes: s.bytes, newConnections: s.newConnections },
    reals: Object.fromEntries(s.reals.map((r) => [r.address, r.packets])),
    forwarded: c.global.forwarded?.packets,
  };
}

const total = (packets: number) => ({
  packets,
  bytes: packets * IP_BYTES,
  newConnections: packets,
});

describe('service counters as the sum of their reals', () => {
  const instance = `lbt-fold-${randomBytes(3).toString('hex')}`;
  after(() => rmSync(join(pinRoot, instance), { recursive: true, force: true }));

  it('keep the totals of removed and replaced reals across id reuse and a restart over pins', async () => {
    const plane = await XdpDataPlane.open({ instance, ...tables });
    try {
      await plane.setService(service, [realA, realB]);
      const idOfA = liveIdOf(plane, realA);
      await send(plane, 4);
      let f = figures(await plane.counters());
      assert.deepEqual(f.service, total(4));
      assert.deepEqual(f.reals, { [realA.address]: 2, [realB.address]: 2 });

      // A leaves: the service keeps its 2 packets.
      await plane.setService(service, [realB]);
      await send(plane, 1);
      f = figures(await plane.counters());
      assert.deepEqual(f.service, total(5));
      assert.deepEqual(f.reals, { [realB.address]: 3 });

      // C and D take the last new ids and start from nothing.
      await plane.setService(service, [realB, realC]);
      await plane.setService(service, [realB, realC, realD]);
      f = figures(await plane.counters());
      assert.deepEqual(f.service, total(5));
      assert.deepEqual(f.reals, { [realB.address]: 3, [realC.address]: 0, [realD.address]: 0 });
      await send(plane, 3);
      f = figures(await plane.counters());
      assert.deepEqual(f.service, total(8));
      const spread = f.reals;
      assert.equal(sum(Object.values(spread)), 3 + 3, 'B had 3 before');

      // A change of forwarding data gives B a new id, A's old one: B's packets move to the
      // service, and B starts from nothing although A had counted 2 under that id.
      const movedB: RealSpec = { ...realB, via: { interface: 'lo', mac: '02:00:00:00:41:1b' } };
      await plane.setService(service, [movedB, realC, realD]);
      assert.equal(liveIdOf(plane, movedB), idOfA, "B has A's old id");
      f = figures(await plane.counters());
      assert.deepEqual(f.service, total(8));
      assert.deepEqual(f.reals, { ...spread, [realB.address]: 0 });
      assert.equal(f.forwarded, 8, 'the global forwarded counter counts every one');
    } finally {
      await plane.close();
    }

    // A restart over the pins: the carried totals and the reals' counters are kept.
    const again = await XdpDataPlane.open({ instance, ...tables });
    try {
      let f = figures(await again.counters());
      assert.deepEqual(f.service, total(8));
      await send(again, 2);
      f = figures(await again.counters());
      assert.deepEqual(f.service, total(10));
      assert.equal(f.forwarded, 10);
      // The service goes and comes back under a reused id: it starts from nothing,
      // while the global forwarded keeps every packet its reals forwarded.
      await again.removeService(service);
      await again.setService(service, [realA]);
      f = figures(await again.counters());
      assert.deepEqual(f.service, total(0));
      assert.deepEqual(f.reals, { [realA.address]: 0 });
      assert.equal(f.forwarded, 10);
      assert.equal((await again.counters()).global.forwarded?.bytes, 10 * IP_BYTES);
      await send(again, 1);
      assert.equal(figures(await again.counters()).forwarded, 11);
    } finally {
      await again.destroy();
    }
  });

  it('counts NAT replies on the real but not on the service', async (t) => {
    const plane = await testPlane(t);
    const natReal = real('10.41.1.10', '02:00:00:00:41:10', { forwarding: 'nat', port: 8080 });
    await plane.setService(service, [natReal]);
    const client = { src: '203.0.113.9', dst: VIP, proto: 'tcp', dport: 80 } as const;
    const requests = [
      ...[5001, 5002, 5003].map((sport) => frame({ ...client, sport })),
      frame({ ...client, sport: 5001, tcpFlags: TCP_ACK }),
    ];
    for (const r of requests) assert.equal((await run(plane, r)).verdictName, 'XDP_TX');
    const reply = (dport: number, payload: number) =>
      frame({
        src: natReal.address,
        dst: client.src,
        proto: 'tcp',
        sport: 8080,
        dport,
        tcpFlags: TCP_ACK,
        payload: Buffer.alloc(payload),
      });
    const replies = [reply(5001, 100), reply(5002, 0)];
    // With no FIB route from lo the translated reply is passed to the kernel.
    for (const r of replies) assert.equal((await run(plane, r)).verdictName, 'XDP_PASS');
    const c = await plane.counters();
    assert.equal(c.global.natReply?.packets, 2);
    const s = c.services[0];
    assert.ok(s !== undefined);
    assert.deepEqual(
      { packets: s.packets, bytes: s.bytes, newConnections: s.newConnections },
      { packets: 4, bytes: ipBytes(requests), newConnections: 3 },
      'requests only',
    );
    assert.deepEqual(
      {
        packets: s.reals[0]?.packets,
        bytes: s.reals[0]?.bytes,
        newConnections: s.reals[0]?.newConnections,
      },
      { packets: 6, bytes: ipBytes([...requests, ...replies]), newConnections: 3 },
      'requests and replies',
    );
  });
});

describe('the global forwarded counter', () => {
  it('counts what left, while the real and its service count what was scheduled', async (t) => {
    const plane = await testPlane(t);
    const tunService = { ...service, vip: '10.41.2.1' } as const;
    await plane.setService(tunService, [
      real('10.41.2.10', '02:00:00:00:41:20', { forwarding: 'tun' }),
    ]);
    const packet = (sport: number, payload: number) =>
      frame({
        src: '203.0.113.11',
        dst: tunService.vip,
        proto: 'tcp',
        sport,
        dport: 80,
        payload: Buffer.alloc(payload),
      });
    const fits = packet(6001, 100);
    const tooBig = packet(6002, 1460); // over the tunnel MTU with DF: answered, not forwarded
    assert.equal((await run(plane, fits)).verdictName, 'XDP_TX');
    assert.equal((await run(plane, tooBig)).verdictName, 'XDP_TX');
    const c = await plane.counters();
    assert.equal(c.global.tooBig?.packets, 1);
    assert.deepEqual(c.global.forwarded, { packets: 1, bytes: ipBytes([fits]) });
    const s = c.services[0];
    assert.deepEqual([s?.packets, s?.bytes], [2, ipBytes([fits, tooBig])]);
    assert.deepEqual([s?.reals[0]?.packets, s?.reals[0]?.bytes], [2, ipBytes([fits, tooBig])]);
  });
});

describe('upgrading over pins of the layout that counted services apart', () => {
  const instance = `lbt-fold-${randomBytes(3).toString('hex')}`;
  after(() => rmSync(join(pinRoot, instance), { recursive: true, force: true }));

  it('refuses them (old service totals would be summed twice) and leaves them alone', async () => {
    const first = await XdpDataPlane.open({ instance, ...tables });
    await first.setService(service, [realA]);
    await first.close();
    // What the previous layout pinned: one lb_real_stats entry per real id.
    const path = join(pinRoot, instance, abi.MAPS.realStats);
    rmSync(path);
    execFileSync('bpftool', [
      'map',
      'create',
      path,
      'type',
      'percpu_array',
      'key',
      '4',
      'value',
      String(abi.counters.size), // lb_counters: scheduled packets only
      'entries',
      String(tables.maxReals),
      'name',
      abi.MAPS.realStats,
    ]);
    await assert.rejects(
      XdpDataPlane.open({ instance, ...tables }),
      (err: Error) =>
        hasCode(err, 'DATAPLANE_PINNED_MISMATCH') &&
        err.message.includes(
          `${path}: an earlier run pinned it with 5 entries of 4-byte keys and 24-byte values`,
        ) &&
        err.message.includes(
          `this start needs 5 entries of 4-byte keys and ${abi.realCounters.size}-byte values`,
        ) &&
        err.message.includes(`remove ${join(pinRoot, instance)}`),
    );
    assert.ok(existsSync(path), 'the refused start kept the pins');
    assert.ok(existsSync(join(pinRoot, instance, abi.MAPS.serviceStats)));
  });
});
