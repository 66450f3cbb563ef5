/**
 * Which packets may open a flow: only a TCP SYN without RST (IPVS with
 * sloppy_tcp off) or any UDP datagram, and never one from a martian source
 * or from source port 0. Exact verdicts, bytes and counters through
 * BPF_PROG_TEST_RUN.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatReason } from '../../src/dataplane/abi.js';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { ageConnections } from './support/conns.js';
import { real, run, testPlane } from './support/harness.js';
import { frame, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './support/packet.js';

const VIP4 = '10.60.0.1';
const VIP6 = '2001:db8:60::1';
const CLIENT4 = '203.0.113.60';
const CLIENT6 = '2001:db8:c::60';
const REAL_MAC = '02:00:00:00:60:01';
const TCP_PSH = 0x08;

async function plane(t: Parameters<typeof testPlane>[0], sloppyTcp?: true): Promise<XdpDataPlane> {
  const p = await testPlane(t, sloppyTcp ? { sloppyTcp } : {});
  for (const [vip, address] of [
    [VIP4, '10.60.1.1'],
    [VIP6, '2001:db8:60:1::1'],
  ] as const) {
    for (const protocol of ['tcp', 'udp'] as const)
      await p.setService({ vip, port: 80, protocol, scheduler: 'rr' }, [real(address, REAL_MAC)]);
  }
  return p;
}

interface Probe {
  readonly src?: string;
  readonly dst?: string;
  readonly proto?: 'tcp' | 'udp';
  readonly sport?: number;
  readonly flags?: number;
}

function packet(probe: Probe = {}): Buffer {
  const dst = probe.dst ?? VIP4;
  return frame({
    src: probe.src ?? (dst.includes(':') ? CLIENT6 : CLIENT4),
    dst,
    proto: probe.proto ?? 'tcp',
    sport: probe.sport ?? 40000,
    dport: 80,
    tcpFlags: probe.flags ?? TCP_SYN,
  });
}

async function reasons(p: XdpDataPlane): Promise<Partial<Record<StatReason, number>>> {
  const out: Partial<Record<StatReason, number>> = {};
  for (const [reason, { packets }] of Object.entries((await p.counters()).global))
    if (packets > 0) out[reason as StatReason] = packets;
  return out;
}

async function newConnections(p: XdpDataPlane): Promise<number> {
  return (await p.counters()).services.reduce((n, s) => n + s.newConnections, 0);
}

/** Runs `data` and checks the verdict; passed and dropped packets must come back untouched. */
async function expect(p: XdpDataPlane, data: Buffer, verdict: string, what: string): Promise<void> {
  const out = await run(p, data);
  assert.equal(out.verdictName, verdict, what);
  if (verdict !== 'XDP_TX') assert.equal(out.data.toString('hex'), data.toString('hex'), what);
}

describe('only a SYN opens a TCP flow (IPVS, sloppy_tcp off)', () => {
  const refused = [
    ['ACK', TCP_ACK],
    ['PSH+ACK', TCP_PSH | TCP_ACK],
    ['FIN+ACK', TCP_FIN | TCP_ACK],
    ['RST', TCP_RST],
    ['SYN+RST', TCP_SYN | TCP_RST],
    ['no flags', 0],
  ] as const;

  it('passes other segments of unknown flows to the kernel, counted, not scheduled', async (t) => {
    const p = await plane(t);
    let sport = 41000;
    for (const dst of [VIP4, VIP6]) {
      for (const [name, flags] of refused)
        await expect(p, packet({ dst, flags, sport: sport++ }), 'XDP_PASS', `${name} to ${dst}`);
    }
    assert.deepEqual(await reasons(p), { passNotSyn: 2 * refused.length });
    assert.equal(await newConnections(p), 0);
    assert.equal((await p.counters()).connTable?.used, 0, 'no entry was written');
  });

  it('a SYN (or SYN+ACK) opens the flow and its later segments follow it', async (t) => {
    const p = await plane(t);
    for (const dst of [VIP4, VIP6]) {
      await expect(p, packet({ dst, flags: TCP_SYN }), 'XDP_TX', `SYN to ${dst}`);
      await expect(p, packet({ dst, flags: TCP_ACK }), 'XDP_TX', `ACK to ${dst}`);
      await expect(p, packet({ dst, flags: TCP_FIN | TCP_ACK }), 'XDP_TX', `FIN to ${dst}`);
      await expect(p, packet({ dst, flags: TCP_SYN | TCP_ACK, sport: 41500 }), 'XDP_TX', 'SYN+ACK');
    }
    assert.deepEqual(await reasons(p), { forwarded: 8 });
    assert.equal(await newConnections(p), 4);
  });

  it('UDP needs no handshake', async (t) => {
    const p = await plane(t);
    await expect(p, packet({ proto: 'udp' }), 'XDP_TX', 'IPv4');
    await expect(p, packet({ proto: 'udp', dst: VIP6 }), 'XDP_TX', 'IPv6');
    assert.equal(await newConnections(p), 2);
  });

  it('an ACK of an expired flow, or of a removed real, is passed; a new SYN is scheduled', async (t) => {
    const p = await plane(t);
    await expect(p, packet({ sport: 42000 }), 'XDP_TX', 'SYN');
    ageConnections(p, 901n * 1_000_000_000n); // past ipvsadm's 900 s
    await expect(p, packet({ sport: 42000, flags: TCP_ACK }), 'XDP_PASS', 'ACK after expiry');
    await expect(p, packet({ sport: 42001 }), 'XDP_TX', 'SYN of a second flow');
    await p.setService({ vip: VIP4, port: 80, protocol: 'tcp', scheduler: 'rr' }, [
      real('10.60.1.2', '02:00:00:00:60:02'),
    ]);
    await expect(p, packet({ sport: 42001, flags: TCP_ACK }), 'XDP_PASS', 'ACK, real removed');
    const out = await run(p, packet({ sport: 42001 }));
    assert.equal(out.verdictName, 'XDP_TX');
    assert.equal(out.data[5], 0x02, 'the SYN went to the remaining real');
    assert.deepEqual(await reasons(p), { forwarded: 3, passNotSyn: 2 });
  });
});

describe('sloppy_tcp', () => {
  it('lets any segment without RST open a flow', async (t) => {
    const p = await plane(t, true);
    await expect(p, packet({ flags: TCP_ACK, sport: 43000 }), 'XDP_TX', 'ACK');
    await expect(p, packet({ flags: TCP_ACK, sport: 43000 }), 'XDP_TX', 'ACK again');
    await expect(p, packet({ flags: TCP_PSH | TCP_ACK, sport: 43001, dst: VIP6 }), 'XDP_TX', 'v6');
    await expect(p, packet({ flags: TCP_RST, sport: 43002 }), 'XDP_PASS', 'RST');
    assert.deepEqual(await reasons(p), { forwarded: 3, passNotSyn: 1 });
    assert.equal(await newConnections(p), 2);
  });
});

describe('martian sources and source port 0', () => {
  const martians4 = [
    '0.0.0.0',
    '0.1.2.3',
    '127.0.0.1',
    '127.255.0.9',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    VIP4,
  ];
  const martians6 = ['::', '::1', 'ff02::1', 'ff0e::9', '::ffff:203.0.113.60', VIP6];

  it('drops a new flow from a source no host may use, and counts it', async (t) => {
    const p = await plane(t);
    for (const src of martians4) {
      await expect(p, packet({ src }), 'XDP_DROP', `TCP from ${src}`);
      await expect(p, packet({ src, proto: 'udp' }), 'XDP_DROP', `UDP from ${src}`);
    }
    for (const src of martians6) await expect(p, packet({ src, dst: VIP6 }), 'XDP_DROP', src);
    // Dropped before the SYN rule: an ACK from a martian is a martian too.
    await expect(p, packet({ src: '0.0.0.0', flags: TCP_ACK }), 'XDP_DROP', 'ACK from 0.0.0.0');
    assert.deepEqual(await reasons(p), {
      martianSource: 2 * martians4.length + martians6.length + 1,
    });
    assert.equal(await newConnections(p), 0);
  });

  it('forwards the neighbours of every martian range', async (t) => {
    const p = await plane(t);
    const fine4 = ['1.0.0.0', '126.255.255.255', '128.0.0.0', '223.255.255.255', '240.0.0.1'];
    const fine6 = ['::2', '::fffe:cb00:713c', 'fe80::1', 'fe00::1', '2001:db8:60::2'];
    for (const src of fine4) await expect(p, packet({ src }), 'XDP_TX', src);
    for (const src of fine6) await expect(p, packet({ src, dst: VIP6 }), 'XDP_TX', src);
    assert.deepEqual(await reasons(p), { forwarded: fine4.length + fine6.length });
  });

  it('leaves martians to other destinations to the kernel', async (t) => {
    const p = await plane(t);
    await expect(p, packet({ src: '0.0.0.0', dst: '10.60.9.9' }), 'XDP_PASS', 'not a VIP');
    assert.deepEqual(await reasons(p), { passNoService: 1 });
  });

  it('drops source port 0, TCP and UDP, both families', async (t) => {
    const p = await plane(t);
    await expect(p, packet({ sport: 0 }), 'XDP_DROP', 'TCP');
    await expect(p, packet({ sport: 0, proto: 'udp' }), 'XDP_DROP', 'UDP');
    await expect(p, packet({ sport: 0, dst: VIP6 }), 'XDP_DROP', 'TCP v6');
    await expect(p, packet({ sport: 0, dst: VIP6, proto: 'udp' }), 'XDP_DROP', 'UDP v6');
    await expect(p, packet({ sport: 1 }), 'XDP_TX', 'port 1 is fine');
    assert.deepEqual(await reasons(p), { sourcePortZero: 4, forwarded: 1 });
  });
});
