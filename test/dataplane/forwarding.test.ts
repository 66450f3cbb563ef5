import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { XdpProtocol as Protocol } from '../../src/dataplane/abi.js';
import * as abi from '../../src/dataplane/abi.js';
import type { Forwarding } from '../../src/dataplane/dataplane.js';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { LO_MAC, real, run, TUN_SRC4, TUN_SRC6, testPlane } from './support/harness.js';
import {
  addrBuf,
  CLIENT_MAC,
  checksumProblems,
  DIRECTOR_MAC,
  ethernet,
  etherTypeOf,
  frame,
  icmpProblems,
  icmpTooBig,
  ipPacket,
  ipv4Header,
  ipv6Header,
  type PacketSpec,
} from './support/packet.js';

type Family = 'ipv4' | 'ipv6';
const MODES: Forwarding[] = ['dr', 'nat', 'tun'];
const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const PROTOS: Protocol[] = ['tcp', 'udp'];

const CLIENT = { ipv4: '203.0.113.7', ipv6: '2001:db8:c::7' };
const servicePort = (p: Protocol) => (p === 'tcp' ? 80 : 53);
const natPort = (p: Protocol) => (p === 'tcp' ? 8080 : 5353);
const modeIndex = (m: Forwarding) => MODES.indexOf(m) + 1;
const vip = (m: Forwarding, f: Family) =>
  f === 'ipv4' ? `10.${modeIndex(m)}.0.1` : `2001:db8:${modeIndex(m)}::1`;
const realAddr = (m: Forwarding, f: Family) =>
  f === 'ipv4' ? `10.${modeIndex(m)}.0.10` : `2001:db8:${modeIndex(m)}::10`;
const realMac = (m: Forwarding, f: Family) =>
  `02:00:00:00:0${modeIndex(m)}:0${f === 'ipv4' ? 4 : 6}`;

/** A fixture: input frame, expected verdict and exact expected output frame. */
interface Fixture {
  readonly name: string;
  readonly input: () => Buffer;
  readonly verdict: 'XDP_TX' | 'XDP_PASS' | 'XDP_DROP' | 'XDP_REDIRECT';
  /** Exact output bytes; defaults to the input (unchanged) when omitted. */
  readonly expected?: () => Buffer;
  /** Packets sent first (e.g. to establish a flow). */
  readonly prelude?: () => Buffer[];
}

let clientPort = 20000;
const nextPort = () => clientPort++;

function tunnelled(
  spec: PacketSpec & { vlan?: number },
  outerFamily: Family,
  to: string,
  mac: string,
): Buffer {
  const inner = ipPacket(spec);
  const innerProto = etherTypeOf(inner) === 0x0800 ? 4 : 41;
  const tos = spec.tos ?? 0;
  const outer =
    outerFamily === 'ipv4'
      ? ipv4Header({
          src: addrBuf(TUN_SRC4),
          dst: addrBuf(to),
          proto: innerProto,
          payloadLength: inner.length,
          tos,
        })
      : ipv6Header({
          src: addrBuf(TUN_SRC6),
          dst: addrBuf(to),
          nextHeader: innerProto,
          payloadLength: inner.length,
          tclass: tos,
        });
  return ethernet(
    { dstMac: mac, srcMac: LO_MAC, ...(spec.vlan === undefined ? {} : { vlan: spec.vlan }) },
    outerFamily === 'ipv4' ? 0x0800 : 0x86dd,
    Buffer.concat([outer, inner]),
  );
}

function forwardFixture(mode: Forwarding, family: Family, proto: Protocol, vlan?: number): Fixture {
  const sport = nextPort();
  const spec = {
    src: CLIENT[family],
    dst: vip(mode, family),
    proto,
    sport,
    dport: servicePort(proto),
    tos: 0x10,
    ...(vlan === undefined ? {} : { vlan }),
  };
  const mac = realMac(mode, family);
  const expected = () => {
    switch (mode) {
      case 'dr':
        return frame({ ...spec, dstMac: mac, srcMac: LO_MAC });
      case 'nat':
        return frame({
          ...spec,
          dst: realAddr(mode, family),
          dport: natPort(proto),
          dstMac: mac,
          srcMac: LO_MAC,
        });
      case 'tun':
        return tunnelled(spec, family, realAddr(mode, family), mac);
    }
  };
  return {
    name: `${mode} ${family} ${proto}${vlan === undefined ? '' : ` vlan ${vlan}`}`,
    input: () => frame(spec),
    verdict: 'XDP_TX',
    expected,
  };
}

function natReplyFixture(family: Family, proto: Protocol, udpNoChecksum = false): Fixture {
  const sport = nextPort();
  const request = {
    src: CLIENT[family],
    dst: vip('nat', family),
    proto,
    sport,
    dport: servicePort(proto),
    udpNoChecksum,
  };
  const reply = {
    src: realAddr('nat', family),
    dst: CLIENT[family],
    proto,
    sport: natPort(proto),
    dport: sport,
    udpNoChecksum,
    dstMac: '02:00:00:00:00:aa',
    srcMac: realMac('nat', family),
  };
  return {
    name: `nat reply ${family} ${proto}${udpNoChecksum ? ' without UDP checksum' : ''}`,
    prelude: () => [frame(request)],
    input: () => frame(reply),
    // With no FIB route from lo (forwarding off), the kernel forwards the translated packet.
    verdict: 'XDP_PASS',
    expected: () => frame({ ...reply, src: vip('nat', family), sport: servicePort(proto) }),
  };
}

function icmpFixture(family: Family, mode: 'dr' | 'tun'): Fixture {
  const sport = nextPort();
  const request = {
    src: CLIENT[family],
    dst: vip(mode, family),
    proto: 'tcp' as const,
    sport,
    dport: 80,
  };
  // The reply the real sent (from the VIP), quoted by a router on the way to the client.
  const quoted = ipPacket({
    src: vip(mode, family),
    dst: CLIENT[family],
    proto: 'tcp',
    sport: 80,
    dport: sport,
  });
  const router = family === 'ipv4' ? '198.51.100.1' : '2001:db8:99::1';
  const icmp = icmpTooBig(router, vip(mode, family), quoted, 1400);
  const input = ethernet({}, etherTypeOf(icmp), icmp);
  const mac = realMac(mode, family);
  const expected = () => {
    if (mode === 'dr') return ethernet({ dstMac: mac, srcMac: LO_MAC }, etherTypeOf(icmp), icmp);
    const outer =
      family === 'ipv4'
        ? ipv4Header({
            src: addrBuf(TUN_SRC4),
            dst: addrBuf(realAddr(mode, family)),
            proto: 4,
            payloadLength: icmp.length,
          })
        : ipv6Header({
            src: addrBuf(TUN_SRC6),
            dst: addrBuf(realAddr(mode, family)),
            nextHeader: 41,
            payloadLength: icmp.length,
          });
    return ethernet(
      { dstMac: mac, srcMac: LO_MAC },
      etherTypeOf(outer),
      Buffer.concat([outer, icmp]),
    );
  };
  return {
    name: `ICMP too-big about a ${mode} flow (${family}) goes to its real`,
    prelude: () => [frame(request)],
    input: () => input,
    verdict: 'XDP_TX',
    expected,
  };
}

type Quote = 'headers' | 'whole';

/**
 * ICMP too-big about a NAT flow, translated for whoever sent the quoted packet.
 * Toward the real: a router on the client's side could not pass the reply we
 * translated (VIP:vport -> client) and tells the VIP; the real must hear it as
 * about its own packet (real:rport -> client), so the outer destination, the
 * quoted source address and port and every checksum change. Toward the client:
 * a router between us and the real could not pass the request we translated
 * (client -> real:rport) and tells the client, who must hear it as about its
 * packet to VIP:vport. `headers` quotes the IP header and 8 bytes (the IPv4
 * minimum: the TCP checksum is not quoted, the UDP one is); `whole` quotes the
 * whole packet.
 */
function natIcmpFixture(
  family: Family,
  proto: Protocol,
  toward: 'real' | 'client',
  quote: Quote,
  udpNoChecksum = false,
): Fixture {
  const sport = nextPort();
  const client = CLIENT[family];
  const theVip = vip('nat', family);
  const theReal = realAddr('nat', family);
  const request = { src: client, dst: theVip, proto, sport, dport: servicePort(proto) };
  const router = family === 'ipv4' ? '198.51.100.1' : '2001:db8:99::1';
  const packet = (spec: PacketSpec) => ipPacket({ ...spec, udpNoChecksum });
  const tooBig = (to: string, quoted: Buffer) =>
    icmpTooBig(router, to, quoted, 1400, quote === 'whole' ? { quoteBytes: quoted.length } : {});
  const name = `ICMP too-big about a nat flow (${family} ${proto}, ${quote} quoted${
    udpNoChecksum ? ', no UDP checksum' : ''
  }) is translated for the ${toward}`;
  if (toward === 'real') {
    const reply = { src: theVip, dst: client, proto, sport: servicePort(proto), dport: sport };
    const input = tooBig(theVip, packet(reply));
    const expected = tooBig(theReal, packet({ ...reply, src: theReal, sport: natPort(proto) }));
    return {
      name,
      prelude: () => [frame(request)],
      input: () => ethernet({}, etherTypeOf(input), input),
      verdict: 'XDP_TX',
      expected: () =>
        ethernet(
          { dstMac: realMac('nat', family), srcMac: LO_MAC },
          etherTypeOf(expected),
          expected,
        ),
    };
  }
  const forwarded = { ...request, dst: theReal, dport: natPort(proto) };
  const input = tooBig(client, packet(forwarded));
  const expected = tooBig(client, packet(request));
  const l2 = { srcMac: realMac('nat', family), dstMac: DIRECTOR_MAC };
  return {
    name,
    prelude: () => [frame(request)],
    input: () => ethernet(l2, etherTypeOf(input), input),
    // No FIB route from lo (forwarding off): the kernel forwards the translated error.
    verdict: 'XDP_PASS',
    expected: () => ethernet(l2, etherTypeOf(expected), expected),
  };
}

const natIcmpToReal = FAMILIES.flatMap((f) =>
  PROTOS.flatMap((p) =>
    (['headers', 'whole'] as const).map((q) => natIcmpFixture(f, p, 'real', q)),
  ),
);
const natIcmpToClient = [
  ...FAMILIES.flatMap((f) => PROTOS.map((p) => natIcmpFixture(f, p, 'client', 'whole'))),
  natIcmpFixture('ipv4', 'tcp', 'client', 'headers'),
  natIcmpFixture('ipv4', 'udp', 'client', 'whole', true),
];

/** Over the tunnel MTU: the director answers like a router, from the VIP. */
function tooBigFixture(family: Family): Fixture {
  const spec = {
    src: CLIENT[family],
    dst: vip('tun', family),
    proto: 'tcp' as const,
    sport: nextPort(),
    dport: 80,
    payload: Buffer.alloc(1460, 7),
  };
  const outer = family === 'ipv4' ? 20 : 40;
  return {
    name: `tun ${family} over the tunnel MTU is answered with ICMP too-big from the VIP`,
    input: () => frame(spec),
    verdict: 'XDP_TX',
    expected: () => {
      const icmp = icmpTooBig(spec.dst, spec.src, ipPacket(spec), 1500 - outer, {
        quoteBytes: 128,
        tos: 0xc0,
        df: false,
      });
      return ethernet({ dstMac: CLIENT_MAC, srcMac: DIRECTOR_MAC }, etherTypeOf(icmp), icmp);
    },
  };
}

const fixtures: Fixture[] = [
  ...MODES.flatMap((m) => FAMILIES.flatMap((f) => PROTOS.map((p) => forwardFixture(m, f, p)))),
  forwardFixture('dr', 'ipv4', 'tcp', 100),
  forwardFixture('nat', 'ipv6', 'udp', 200),
  forwardFixture('tun', 'ipv4', 'tcp', 300),
  ...FAMILIES.flatMap((f) => PROTOS.map((p) => natReplyFixture(f, p))),
  natReplyFixture('ipv4', 'udp', true),
  {
    name: 'nat ipv4 udp without checksum keeps it zero',
    input: () =>
      frame({
        src: CLIENT.ipv4,
        dst: vip('nat', 'ipv4'),
        proto: 'udp',
        sport: 4444,
        dport: 53,
        udpNoChecksum: true,
      }),
    verdict: 'XDP_TX',
    expected: () =>
      frame({
        src: CLIENT.ipv4,
        dst: realAddr('nat', 'ipv4'),
        proto: 'udp',
        sport: 4444,
        dport: 5353,
        udpNoChecksum: true,
        dstMac: realMac('nat', 'ipv4'),
        srcMac: LO_MAC,
      }),
  },
  {
    name: 'tun ipv4 client to an ipv6 real (IPv4-in-IPv6)',
    input: () => frame({ src: CLIENT.ipv4, dst: '10.9.0.1', proto: 'tcp', sport: 5555, dport: 80 }),
    verdict: 'XDP_TX',
    expected: () =>
      tunnelled(
        { src: CLIENT.ipv4, dst: '10.9.0.1', proto: 'tcp', sport: 5555, dport: 80 },
        'ipv6',
        '2001:db8:9::10',
        '02:00:00:00:09:06',
      ),
  },
  {
    name: 'dr ipv4 with IP options',
    input: () =>
      frame({
        src: CLIENT.ipv4,
        dst: vip('dr', 'ipv4'),
        proto: 'tcp',
        sport: 5556,
        dport: 80,
        ipOptions: Buffer.from([1, 1, 1, 0]),
      }),
    verdict: 'XDP_TX',
    expected: () =>
      frame({
        src: CLIENT.ipv4,
        dst: vip('dr', 'ipv4'),
        proto: 'tcp',
        sport: 5556,
        dport: 80,
        ipOptions: Buffer.from([1, 1, 1, 0]),
        dstMac: realMac('dr', 'ipv4'),
        srcMac: LO_MAC,
      }),
  },
  {
    name: 'dr ipv6 behind hop-by-hop and destination-options headers',
    input: () =>
      frame({
        src: CLIENT.ipv6,
        dst: vip('dr', 'ipv6'),
        proto: 'udp',
        sport: 5557,
        dport: 53,
        ipv6Ext: [0, 60],
      }),
    verdict: 'XDP_TX',
    expected: () =>
      frame({
        src: CLIENT.ipv6,
        dst: vip('dr', 'ipv6'),
        proto: 'udp',
        sport: 5557,
        dport: 53,
        ipv6Ext: [0, 60],
        dstMac: realMac('dr', 'ipv6'),
        srcMac: LO_MAC,
      }),
  },
  {
    name: 'traffic to no service passes untouched',
    input: () =>
      frame({ src: CLIENT.ipv4, dst: vip('dr', 'ipv4'), proto: 'tcp', sport: 5558, dport: 443 }),
    verdict: 'XDP_PASS',
  },
  ...FAMILIES.map(tooBigFixture),
  {
    name: 'an IPv4 packet without DF over the tunnel MTU is dropped',
    input: () =>
      frame({
        src: CLIENT.ipv4,
        dst: vip('tun', 'ipv4'),
        proto: 'udp',
        sport: 5559,
        dport: 53,
        df: false,
        payload: Buffer.alloc(1460),
      }),
    verdict: 'XDP_DROP',
  },
  ...FAMILIES.flatMap((f) => [icmpFixture(f, 'dr'), icmpFixture(f, 'tun')]),
  ...natIcmpToReal,
  natIcmpFixture('ipv4', 'udp', 'real', 'whole', true),
  ...natIcmpToClient,
  {
    name: 'ICMP too-big to a client about a request we did not translate passes untouched',
    input: () => {
      const quoted = ipPacket({
        src: CLIENT.ipv4,
        dst: realAddr('nat', 'ipv4'),
        proto: 'tcp',
        sport: 1,
        dport: natPort('tcp'),
      });
      const icmp = icmpTooBig('198.51.100.1', CLIENT.ipv4, quoted, 1400);
      return ethernet({}, 0x0800, icmp);
    },
    verdict: 'XDP_PASS',
  },
  {
    name: 'ICMP too-big about an unknown flow passes',
    input: () => {
      const quoted = ipPacket({
        src: vip('dr', 'ipv4'),
        dst: CLIENT.ipv4,
        proto: 'tcp',
        sport: 80,
        dport: 1,
      });
      const icmp = icmpTooBig('198.51.100.1', vip('dr', 'ipv4'), quoted, 1400);
      return ethernet({}, 0x0800, icmp);
    },
    verdict: 'XDP_PASS',
  },
];

async function configure(plane: XdpDataPlane): Promise<void> {
  for (const mode of MODES) {
    for (const family of FAMILIES) {
      for (const protocol of PROTOS) {
        await plane.setService(
          { vip: vip(mode, family), port: servicePort(protocol), protocol, scheduler: 'rr' },
          [
            real(realAddr(mode, family), realMac(mode, family), {
              forwarding: mode,
              port: mode === 'nat' ? natPort(protocol) : 0,
            }),
          ],
        );
      }
    }
  }
  await plane.setService({ vip: '10.9.0.1', port: 80, protocol: 'tcp', scheduler: 'rr' }, [
    real('2001:db8:9::10', '02:00:00:00:09:06', { forwarding: 'tun' }),
  ]);
}

describe('forwarding through BPF_PROG_TEST_RUN', () => {
  let plane: XdpDataPlane;
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const fn of cleanups) await fn();
  });
  before(async () => {
    plane = await testPlane((fn) => cleanups.push(fn), { maxServices: 16 });
    await configure(plane);
  });

  for (const fx of fixtures) {
    it(fx.name, async () => {
      for (const p of fx.prelude?.() ?? []) {
        assert.notEqual((await run(plane, p)).verdictName, 'XDP_DROP', 'prelude packet forwarded');
      }
      const input = fx.input();
      const out = await run(plane, input);
      assert.equal(out.verdictName, fx.verdict);
      const expected = fx.expected?.() ?? input;
      assert.equal(out.data.toString('hex'), expected.toString('hex'));
      if (fx.verdict !== 'XDP_DROP') assert.deepEqual(checksumProblems(out.data), []);
      const ip = out.data.subarray(14);
      const isIcmp = ip[0]! >> 4 === 4 ? ip[9] === 1 : ip[6] === 58;
      if (isIcmp) assert.deepEqual(icmpProblems(ip), []);
    });
  }

  it('counts forwarded packets per service and real, and passes per reason', async () => {
    const c = await plane.counters();
    assert.ok((c.global.forwarded?.packets ?? 0) >= 12);
    assert.ok((c.global.passNoService?.packets ?? 0) >= 1);
    assert.equal(c.global.tooBig?.packets, 3);
    assert.equal(c.global.icmpSteered?.packets, 4 + natIcmpToReal.length + 1);
    assert.equal(c.global.icmpToClient?.packets, natIcmpToClient.length);
    assert.equal(c.global.natReply?.packets, 5);
    const dr4tcp = c.services.find(
      (s) => s.service.vip === vip('dr', 'ipv4') && s.service.protocol === 'tcp',
    );
    assert.ok(dr4tcp);
    assert.equal(dr4tcp.reals[0]?.packets, dr4tcp.packets);
    assert.ok(dr4tcp.newConnections >= 3);
    assert.deepEqual(Object.keys(c.global), [...abi.STAT_REASONS]);
    assert.ok(
      plane.map('stats').info.maxEntries > abi.STAT_CONN_EVICTED,
      'a slot for every reason',
    );
  });
});
