import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { real, run, testPlane } from './support/harness.js';
import { checksum, ethernet, frame, ipPacket, type PacketSpec } from './support/packet.js';

const VIP4 = '10.20.0.1';
const VIP6 = '2001:db8:20::1';
const client4 = { src: '203.0.113.9', dst: VIP4, proto: 'tcp', sport: 3333, dport: 80 } as const;
const client6 = { src: '2001:db8:c::9', dst: VIP6, proto: 'udp', sport: 3333, dport: 53 } as const;
/**
 * A UDP frame at least as long as Ethernet + IPv4 + a TCP header: the program
 * parses such frames behind one bounds check (lb_parse_common), shorter ones
 * header by header, so each UDP case runs in both lengths.
 */
const longUdp4 = { ...client4, proto: 'udp', dport: 53, payload: Buffer.alloc(24, 0x61) } as const;

/** Rewrites bytes of a frame (offsets from the start of the IP header) and refreshes the IPv4 header checksum. */
function mutate4(spec: PacketSpec, edit: (ip: Buffer) => void): Buffer {
  const ip = ipPacket(spec);
  edit(ip);
  const ihl = Math.min((ip[0]! & 0xf) * 4, ip.length);
  if (ihl >= 20) {
    ip.writeUInt16BE(0, 10);
    ip.writeUInt16BE(checksum(ip.subarray(0, ihl)), 10);
  }
  return ethernet({}, 0x0800, ip);
}

function mutate6(spec: PacketSpec, edit: (ip: Buffer) => void): Buffer {
  const ip = ipPacket(spec);
  edit(ip);
  return ethernet({}, 0x86dd, ip);
}

const malformed: { name: string; input: () => Buffer }[] = [
  { name: 'IPv4 IHL below 5', input: () => mutate4(client4, (ip) => (ip[0] = 0x44)) },
  { name: 'IPv4 IHL beyond the packet', input: () => mutate4(client4, (ip) => (ip[0] = 0x4f)) },
  {
    name: 'IPv4 version 6 in an IPv4 frame',
    input: () => mutate4(client4, (ip) => (ip[0] = 0x65)),
  },
  {
    name: 'IPv4 total length below the header',
    input: () => mutate4(client4, (ip) => ip.writeUInt16BE(12, 2)),
  },
  {
    name: 'IPv4 total length beyond the frame',
    input: () => mutate4(client4, (ip) => ip.writeUInt16BE(1500, 2)),
  },
  {
    name: 'TCP data offset below 5',
    input: () => mutate4(client4, (ip) => (ip[20 + 12] = 4 << 4)),
  },
  {
    name: 'TCP data offset beyond the packet',
    input: () => mutate4(client4, (ip) => (ip[20 + 12] = 15 << 4)),
  },
  {
    name: 'UDP length below its header',
    input: () =>
      mutate4({ ...client4, proto: 'udp', dport: 53 }, (ip) => ip.writeUInt16BE(4, 20 + 4)),
  },
  {
    name: 'UDP length beyond the frame',
    input: () =>
      mutate4({ ...client4, proto: 'udp', dport: 53 }, (ip) => ip.writeUInt16BE(900, 20 + 4)),
  },
  {
    name: 'UDP length below its header, in a frame parsed behind one bounds check',
    input: () => mutate4(longUdp4, (ip) => ip.writeUInt16BE(4, 20 + 4)),
  },
  {
    name: 'UDP length beyond the frame, in a frame parsed behind one bounds check',
    input: () => mutate4(longUdp4, (ip) => ip.writeUInt16BE(900, 20 + 4)),
  },
  {
    name: 'IPv6 payload length beyond the frame',
    input: () => mutate6(client6, (ip) => ip.writeUInt16BE(999, 4)),
  },
  {
    name: 'IPv6 version 4 in an IPv6 frame',
    input: () => mutate6(client6, (ip) => (ip[0] = 0x40)),
  },
  {
    name: 'IPv6 extension chain longer than the bound',
    input: () => frame({ ...client6, ipv6Ext: [0, 60, 60, 60, 60] }),
  },
  {
    name: 'IPv6 extension header running past the frame',
    input: () => mutate6({ ...client6, ipv6Ext: [60] }, (ip) => (ip[41] = 200)),
  },
  {
    name: 'two VLAN tags (more than accepted)',
    input: () => {
      const f = frame({ ...client4, vlan: 10 });
      return Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0, 0, 20]), f.subarray(12)]);
    },
  },
];

const valid: { name: string; input: () => Buffer }[] = [
  { name: 'DR IPv4 TCP', input: () => frame(client4) },
  { name: 'DR IPv4 UDP, long enough for the one-check parse', input: () => frame(longUdp4) },
  {
    name: 'DR IPv4 TCP with IP options (parsed header by header)',
    input: () => frame({ ...client4, ipOptions: Buffer.from([1, 1, 1, 0]) }),
  },
  {
    name: 'DR IPv6 UDP with an extension header',
    input: () => frame({ ...client6, ipv6Ext: [60] }),
  },
  {
    name: 'NAT IPv4 UDP',
    input: () => frame({ ...client4, dst: '10.20.0.2', proto: 'udp', dport: 53 }),
  },
  {
    name: 'TUN IPv6 TCP in a VLAN',
    input: () => frame({ ...client6, dst: '2001:db8:20::2', proto: 'tcp', dport: 80, vlan: 7 }),
  },
];

async function configure(plane: XdpDataPlane): Promise<void> {
  await plane.setService({ vip: VIP4, port: 80, protocol: 'tcp', scheduler: 'rr' }, [
    real('10.20.0.10', '02:00:00:00:20:04'),
  ]);
  await plane.setService({ vip: VIP4, port: 53, protocol: 'udp', scheduler: 'rr' }, [
    real('10.20.0.10', '02:00:00:00:20:04'),
  ]);
  await plane.setService({ vip: VIP6, port: 53, protocol: 'udp', scheduler: 'rr' }, [
    real('2001:db8:20::10', '02:00:00:00:20:06'),
  ]);
  await plane.setService({ vip: '10.20.0.2', port: 53, protocol: 'udp', scheduler: 'rr' }, [
    real('10.20.0.11', '02:00:00:00:20:05', { forwarding: 'nat', port: 5353 }),
  ]);
  await plane.setService({ vip: '2001:db8:20::2', port: 80, protocol: 'tcp', scheduler: 'rr' }, [
    real('2001:db8:20::11', '02:00:00:00:20:07', { forwarding: 'tun' }),
  ]);
}

for (const policy of ['pass', 'drop'] as const) {
  describe(`malformed packets with policy ${policy}`, () => {
    let plane: XdpDataPlane;
    const cleanups: (() => unknown)[] = [];
    after(async () => {
      for (const fn of cleanups) await fn();
    });
    before(async () => {
      plane = await testPlane((fn) => cleanups.push(fn), { malformed: policy, fragments: policy });
      await configure(plane);
    });
    const verdict = policy === 'pass' ? 'XDP_PASS' : 'XDP_DROP';

    for (const fx of malformed) {
      it(`${fx.name}: ${verdict}, untouched`, async () => {
        const input = fx.input();
        const before = (await plane.counters()).global.malformed?.packets ?? 0;
        const out = await run(plane, input);
        assert.equal(out.verdictName, verdict);
        assert.equal(out.data.toString('hex'), input.toString('hex'));
        assert.equal((await plane.counters()).global.malformed?.packets, before + 1);
      });
    }

    it(`IPv4 and IPv6 fragments: ${verdict}, counted`, async () => {
      const first = mutate4(client4, (ip) => ip.writeUInt16BE(0x2000, 6));
      const later = mutate4(client4, (ip) => ip.writeUInt16BE(0x0010, 6));
      const v6 = frame({ ...client6, ipv6Ext: [44] });
      for (const input of [first, later, v6]) {
        const out = await run(plane, input);
        assert.equal(out.verdictName, verdict);
        assert.equal(out.data.toString('hex'), input.toString('hex'));
      }
      assert.equal((await plane.counters()).global.fragment?.packets, 3);
    });
  });
}

describe('truncated packets are never forwarded', () => {
  let plane: XdpDataPlane;
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const fn of cleanups) await fn();
  });
  before(async () => {
    plane = await testPlane((fn) => cleanups.push(fn));
    await configure(plane);
  });

  for (const fx of valid) {
    it(`${fx.name} at every length`, async () => {
      const whole = fx.input();
      assert.equal(
        (await run(plane, whole)).verdictName,
        'XDP_TX',
        'the whole packet is forwarded',
      );
      // Test runs need at least an Ethernet header.
      for (let len = 14; len < whole.length; len++) {
        const out = await run(plane, whole.subarray(0, len));
        assert.ok(
          out.verdictName === 'XDP_PASS' || out.verdictName === 'XDP_DROP',
          `length ${len}: ${out.verdictName}`,
        );
        assert.equal(
          out.data.toString('hex'),
          whole.subarray(0, len).toString('hex'),
          `length ${len} untouched`,
        );
      }
    });
  }
});
