import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { RealSpec } from '../../src/dataplane/dataplane.js';
import { teardown } from '../support/teardown.js';
import { buildDrLan, DR_MAC, DR_VIP, drReals } from './support/dr-lan.js';
import { Lan } from './support/lan.js';
import { addrBuf, checksumProblems, ipv4Header, TCP_SYN } from './support/packet.js';

describe('DR in network namespaces with real HTTP servers', () => {
  const lan = new Lan();
  const VIP = DR_VIP;
  const reals = drReals(80);

  before(() => buildDrLan(lan));
  teardown(() => lan.destroy());

  it('attaches natively and alternates HTTP connections between the reals under rr', async () => {
    const out = await lan.director('d', {
      interfaces: ['eth0'],
      services: [{ service: { vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr' }, reals }],
    });
    assert.deepEqual(out.modes, { eth0: 'native' });
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await lan.get('c', `http://${VIP}/`));
    assert.ok(
      answers.every((a) => a === 'real-a' || a === 'real-b'),
      answers.join(','),
    );
    for (let i = 1; i < answers.length; i++)
      assert.notEqual(answers[i], answers[i - 1], answers.join(','));
  });

  it('keeps forwarding after the director process restarts, with counters intact', async () => {
    const out = await lan.director('d', { interfaces: ['eth0'], services: [] });
    assert.equal(out.recovered, 1, 'the service came back from the pinned maps');
    assert.deepEqual(out.modes, { eth0: 'pinned' });
    const perReal = out.counters.services[0]?.reals ?? [];
    assert.deepEqual(
      perReal.map((r) => r.newConnections),
      [3, 3],
    );
    assert.ok(
      perReal.every((r) => r.packets >= 15),
      'handshake, request and teardown packets',
    );
    const answer = await lan.get('c', `http://${VIP}/`);
    assert.ok(answer === 'real-a' || answer === 'real-b');
  });
});

const MAC = DR_MAC;

/**
 * NAT: the client is on another subnet; reals route back through the
 * director, whose XDP program translates replies back to VIP:port.
 */
describe('NAT in network namespaces with real HTTP servers', () => {
  const lan = new Lan();
  const VIP = '10.98.0.100';
  const reals: RealSpec[] = [
    {
      address: '10.99.0.11',
      port: 8080,
      weight: 1,
      forwarding: 'nat',
      via: { interface: 'eth0', mac: MAC.a },
    },
    {
      address: '10.99.0.12',
      port: 8080,
      weight: 1,
      forwarding: 'nat',
      via: { interface: 'eth0', mac: MAC.b },
    },
  ];

  before(async () => {
    await lan.create();
    await lan.addHost({
      role: 'c',
      mac: MAC.client,
      addresses: ['10.98.0.1/24'],
      gateway: '10.98.0.2',
    });
    await lan.addHost({
      role: 'd',
      mac: MAC.director,
      addresses: ['10.98.0.2/24', '10.99.0.2/24', `${VIP}/32`],
    });
    await lan.sysctl('d', ['net.ipv4.ip_forward=1']);
    for (const [role, addr, mac] of [
      ['a', '10.99.0.11/24', MAC.a],
      ['b', '10.99.0.12/24', MAC.b],
    ] as const) {
      await lan.addHost({ role, mac, addresses: [addr], gateway: '10.99.0.2' });
      await lan.httpServer(role, `real-${role}`, 8080);
    }
    await lan.passXdpOnSwitchPort('d');
  });
  teardown(() => lan.destroy());

  it('translates requests to the reals and replies back to VIP:80', async () => {
    const out = await lan.director('d', {
      interfaces: ['eth0'],
      services: [{ service: { vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr' }, reals }],
    });
    assert.deepEqual(out.modes, { eth0: 'native' });
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await lan.get('c', `http://${VIP}/`));
    assert.deepEqual(
      [...answers].sort(),
      ['real-a', 'real-a', 'real-b', 'real-b'],
      answers.join(','),
    );
    const again = await lan.director('d', { interfaces: ['eth0'], services: [] });
    assert.ok((again.counters.global.natReply?.packets ?? 0) >= 8, 'replies went through XDP');
  });
});

/**
 * TUN: this kernel has no ipip module, so the real cannot decapsulate; a
 * capture on the real's link shows the exact IPIP packets the director sent.
 */
describe('TUN in network namespaces, checked by capture', () => {
  const lan = new Lan();
  const VIP = '10.97.0.100';
  const TUNNEL_SOURCE = '10.97.0.2';

  before(async () => {
    await lan.create();
    await lan.addHost({ role: 'c', mac: MAC.client, addresses: ['10.97.0.1/24'] });
    await lan.addHost({ role: 'd', mac: MAC.director, addresses: ['10.97.0.2/24', `${VIP}/32`] });
    await lan.addHost({ role: 'a', mac: MAC.a, addresses: ['10.97.0.11/24'] });
    await lan.passXdpOnSwitchPort('d');
  });
  teardown(() => lan.destroy());

  it('encapsulates the client SYN in IPIP from the tunnel source to the real', async () => {
    await lan.director('d', {
      interfaces: ['eth0'],
      tunnel: { sourceV4: TUNNEL_SOURCE },
      services: [
        {
          service: { vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr' },
          reals: [
            {
              address: '10.97.0.11',
              port: 80,
              weight: 1,
              forwarding: 'tun',
              via: { interface: 'eth0', mac: MAC.a },
            },
          ],
        },
      ],
    });
    const captured = await lan.capture('a', 'ip proto 4', 1);
    await lan.getUnanswered('c', `http://${VIP}/`);
    const [frame] = await captured.frames;
    assert.ok(frame, 'an IPIP frame reached the real');
    // Link layer: director -> real.
    assert.equal(frame.subarray(0, 6).toString('hex'), MAC.a.replaceAll(':', ''));
    assert.equal(frame.subarray(6, 12).toString('hex'), MAC.director.replaceAll(':', ''));
    assert.equal(frame.readUInt16BE(12), 0x0800);
    const outer = frame.subarray(14, 34);
    const inner = frame.subarray(34);
    const expectedOuter = ipv4Header({
      src: addrBuf(TUNNEL_SOURCE),
      dst: addrBuf('10.97.0.11'),
      proto: 4,
      payloadLength: inner.length,
      tos: inner[1]!,
    });
    assert.equal(
      outer.toString('hex'),
      expectedOuter.toString('hex'),
      'outer header, built independently',
    );
    // The inner packet is the client's untouched SYN to VIP:80, checksums intact.
    assert.equal(inner.subarray(12, 16).toString('hex'), addrBuf('10.97.0.1').toString('hex'));
    assert.equal(inner.subarray(16, 20).toString('hex'), addrBuf(VIP).toString('hex'));
    assert.equal(inner.readUInt16BE(20 + 2), 80);
    assert.equal(inner[20 + 13]! & TCP_SYN, TCP_SYN);
    assert.deepEqual(checksumProblems(frame), []);
  });
});
