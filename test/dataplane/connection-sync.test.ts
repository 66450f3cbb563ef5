/**
 * Connection sync on the real XDP program: flows a director opens come out
 * of lb_sync_events; stored on another director by lb_sync_learn, they keep
 * their real there although that director never saw their SYN.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Connection, listConnections } from '../../src/dataplane/conn-listing.js';
import type { SyncedFlow } from '../../src/dataplane/connection-sync.js';
import { kernelHz } from '../../src/dataplane/kernel-hz.js';
import { programNowNs } from '../../src/dataplane/program-clock.js';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { connTableMaps } from '../../src/status/status-collector.js';
import { real, run, testPlane } from './support/harness.js';
import { frame, TCP_ACK, TCP_SYN } from './support/packet.js';

const VIP = '10.61.0.1';
const CLIENT = '203.0.113.61';
const MACS = ['02:00:00:00:61:01', '02:00:00:00:61:02'];

async function director(t: Parameters<typeof testPlane>[0], connectionSync: boolean) {
  const p = await testPlane(t, { connectionSync });
  await p.setService({ vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr' }, [
    real('10.61.1.1', MACS[0] as string, { port: 80 }),
    real('10.61.1.2', MACS[1] as string, { port: 80 }),
  ]);
  return p;
}

const packet = (sport: number, tcpFlags: number) =>
  frame({ src: CLIENT, dst: VIP, proto: 'tcp', sport, dport: 80, tcpFlags });
const macOf = (data: Buffer) =>
  [...data.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');

async function connections(plane: XdpDataPlane): Promise<Connection[]> {
  const out: Connection[] = [];
  await listConnections(connTableMaps(plane), {
    nowNs: await programNowNs(kernelHz()),
    onChunk: (c) => void out.push(...c),
  });
  return out;
}

describe('XDP connection sync', () => {
  it('reports a new flow and its handshake end, and stores nothing when off', async (t) => {
    const a = await director(t, true);
    const port = a.connectionSync();
    assert.ok(port);
    t.after(() => port.close());
    await run(a, packet(41000, TCP_SYN));
    await run(a, packet(41000, TCP_ACK));
    await run(a, packet(41000, TCP_ACK)); // no change: no report
    const reports = port.takeReports(100);
    assert.equal(reports.length, 2);
    assert.deepEqual(
      reports.map((r) => [r.established, r.closing]),
      [
        [false, false],
        [true, false],
      ],
    );
    assert.equal(reports[0]?.client, CLIENT);
    assert.equal(reports[0]?.clientPort, 41000);
    assert.equal(reports[0]?.vip, VIP);
    assert.equal(reports[0]?.timeoutS, 60); // SYN_RECV
    assert.equal(reports[1]?.timeoutS, 900);
    assert.deepEqual(port.takeReports(100), []);

    const off = await director(t, false);
    assert.equal(off.connectionSync(), undefined);
  });

  it('a flow learnt from a peer keeps its real on a director that never saw its SYN', async (t) => {
    const a = await director(t, true);
    const b = await director(t, true);
    const portA = a.connectionSync();
    const portB = b.connectionSync();
    assert.ok(portA && portB);
    t.after(() => {
      portA.close();
      portB.close();
    });
    // Two flows on A: rr puts them on different reals.
    const chosen: string[] = [];
    for (const sport of [42000, 42001]) {
      chosen.push(macOf((await run(a, packet(sport, TCP_SYN))).data));
      await run(a, packet(sport, TCP_ACK));
    }
    assert.notEqual(chosen[0], chosen[1]);

    // Without sync B passes the mid-flow segments to its kernel (which would reset them).
    for (const sport of [42000, 42001]) {
      assert.equal((await run(b, packet(sport, TCP_ACK))).verdictName, 'XDP_PASS');
    }

    const reports = portA.takeReports(100);
    const counts = await portB.learn(reports);
    assert.equal(counts.filled + counts.stored, 4); // SYN report, then its ESTABLISHED update, per flow
    for (const [i, sport] of [42000, 42001].entries()) {
      const out = await run(b, packet(sport, TCP_ACK));
      assert.equal(out.verdictName, 'XDP_TX');
      assert.equal(macOf(out.data), chosen[i]);
    }
    const listed = await connections(b);
    assert.deepEqual(listed.map((c) => c.state).sort(), ['ESTABLISHED', 'ESTABLISHED']);
  });

  it('takes the peer timeout when shorter, and counts unknown services and reals', async (t) => {
    const b = await director(t, true);
    const port = b.connectionSync();
    assert.ok(port);
    t.after(() => port.close());
    const flow: SyncedFlow = {
      protocol: 'tcp',
      family: 'ipv4',
      client: CLIENT,
      clientPort: 43000,
      vip: VIP,
      vport: 80,
      real: '10.61.1.2',
      realPort: 80,
      forwarding: 'dr',
      established: true,
      closing: false,
      timeoutS: 30,
    };
    const counts = await port.learn([
      flow,
      { ...flow, clientPort: 43001, vip: '10.61.0.99' },
      { ...flow, clientPort: 43002, real: '10.61.1.99' },
      { ...flow, clientPort: 43003, protocol: 'sctp' },
    ]);
    assert.deepEqual(
      {
        filled: counts.filled,
        noService: counts.noService,
        noReal: counts.noReal,
        invalid: counts.invalid,
      },
      { filled: 1, noService: 1, noReal: 1, invalid: 1 },
    );
    const [listed] = await connections(b);
    assert.ok(listed);
    assert.equal(listed.destination, '10.61.1.2:80');
    assert.ok(listed.expiresS <= 30 && listed.expiresS >= 28, `expires in ${listed.expiresS} s`);
    assert.equal(macOf((await run(b, packet(43000, TCP_ACK))).data), MACS[1]);
  });
});
