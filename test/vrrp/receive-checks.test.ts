import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { ReceivedPacket } from '../../src/vrrp/io.js';
import {
  checksumIsValid,
  encodeAdvert,
  passwordBytes,
  type VrrpAdvert,
} from '../../src/vrrp/packet.js';
import { DROP_REASONS, type DropReason } from '../../src/vrrp/receive-check.js';
import { instanceOptions, TestCluster } from './support/cluster.js';

const good: VrrpAdvert = {
  version: 2,
  type: 1,
  vrid: 51,
  priority: 120,
  authType: 1,
  advertIntervalMs: 1000,
  addresses: ['192.168.0.203'],
  authData: passwordBytes('secret'),
};
const mcast = { family: 4, source: '10.0.0.9', destination: '224.0.0.18' } as const;

function packet(payload: Buffer, overrides: Partial<ReceivedPacket> = {}): ReceivedPacket {
  return {
    source: '10.0.0.9',
    destination: '224.0.0.18',
    ttlOrHopLimit: 255,
    payload,
    interface: 'eth0',
    ...overrides,
  };
}

function backup(overrides: Parameters<typeof instanceOptions>[0] = {}) {
  const c = new TestCluster();
  const node = c.add('b', '10.0.0.2', [instanceOptions({ authPass: 'secret', ...overrides })]);
  node.engine.start();
  return node.engine.instance('VI_1');
}

const withChecksumBroken = (b: Buffer) => {
  const copy = Buffer.from(b);
  copy[6] = copy[6]! ^ 0xff;
  return copy;
};

// One row per reason, in keepalived's check order; each must bump exactly its counter.
const table: [DropReason, () => ReceivedPacket][] = [
  ['packetLength', () => packet(encodeAdvert(good, mcast).subarray(0, 19))],
  ['ttl', () => packet(encodeAdvert(good, mcast), { ttlOrHopLimit: 64 })],
  ['version', () => packet(encodeAdvert({ ...good, version: 3, authType: 0 }, mcast))],
  ['invalidAuthType', () => packet(encodeAdvert({ ...good, authType: 5 }, mcast))],
  ['authTypeMismatch', () => packet(encodeAdvert({ ...good, authType: 0 }, mcast))],
  ['authFailure', () => packet(encodeAdvert({ ...good, authData: passwordBytes('wrong') }, mcast))],
  [
    'advertIntervalMismatch',
    () => packet(encodeAdvert({ ...good, advertIntervalMs: 3000 }, mcast)),
  ],
  ['type', () => packet(encodeAdvert({ ...good, type: 2 }, mcast))],
  [
    'addressListMismatch',
    () => packet(encodeAdvert({ ...good, addresses: ['192.168.0.203', '192.168.0.204'] }, mcast)),
  ],
  ['checksum', () => packet(withChecksumBroken(encodeAdvert(good, mcast)))],
  [
    'unexpectedDestination',
    () =>
      packet(encodeAdvert(good, { ...mcast, destination: '10.0.0.2' }), {
        destination: '10.0.0.2',
      }),
  ],
];

describe('VRRP receive checks', () => {
  it('accepts a good advert and re-arms the backup', () => {
    const instance = backup();
    instance.receive(packet(encodeAdvert(good, mcast)));
    assert.equal(instance.counters.advertsReceived, 1);
    assert.equal(instance.masterAddress, '10.0.0.9');
    assert.ok(Object.values(instance.counters.dropped).every((n) => n === 0));
  });

  for (const [reason, build] of table) {
    it(`drops and counts: ${reason}`, () => {
      const instance = backup();
      const deadline = instance.masterDownDeadline;
      instance.receive(build());
      const counted = Object.entries(instance.counters.dropped).filter(([, n]) => n > 0);
      assert.deepEqual(counted, [[reason, 1]]);
      assert.equal(instance.counters.advertsReceived, 0);
      assert.equal(
        instance.masterDownDeadline,
        deadline,
        'a dropped advert does not re-arm the timer',
      );
    });
  }

  it('covers every reason but the unicast source check in the table', () => {
    const covered = new Set(table.map(([r]) => r));
    assert.deepEqual(
      DROP_REASONS.filter((r) => !covered.has(r)),
      ['unicastSourceNotPeer'],
    );
  });

  it('runs the checks in order: a packet failing TTL and auth counts as TTL', () => {
    const instance = backup();
    instance.receive(
      packet(encodeAdvert({ ...good, authData: passwordBytes('wrong') }, mcast), {
        ttlOrHopLimit: 1,
      }),
    );
    assert.equal(instance.counters.dropped.ttl, 1);
    assert.equal(instance.counters.dropped.authFailure, 0);
  });

  it('a VIP missing from the advert counts as an address list mismatch', () => {
    const instance = backup();
    instance.receive(packet(encodeAdvert({ ...good, addresses: ['192.168.0.99'] }, mcast)));
    assert.equal(instance.counters.dropped.addressListMismatch, 1);
  });

  it('logs an address list mismatch at most once a minute but counts every one', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const c = new TestCluster();
    const node = c.add('b', '10.0.0.2', [instanceOptions({ authPass: 'secret' })], { logger });
    node.engine.start();
    const instance = node.engine.instance('VI_1');
    const bad = () => packet(encodeAdvert({ ...good, addresses: ['192.168.0.99'] }, mcast));
    const logged = () => lines.filter((l) => l.includes('address list mismatch')).length;
    instance.receive(bad());
    instance.receive(bad());
    c.clock.advance(59_999);
    instance.receive(bad());
    assert.equal(logged(), 1);
    c.clock.advance(1);
    instance.receive(bad());
    assert.equal(logged(), 2);
    assert.equal(instance.counters.dropped.addressListMismatch, 4);
  });

  it('skip_check_adv_addr skips the address check for the known master only', () => {
    const instance = backup({ skipCheckAdvAddr: true });
    instance.receive(packet(encodeAdvert(good, mcast)));
    instance.receive(packet(encodeAdvert({ ...good, addresses: ['192.168.0.99'] }, mcast)));
    assert.equal(instance.counters.advertsReceived, 2);
    const other = { ...mcast, source: '10.0.0.8' };
    instance.receive(
      packet(encodeAdvert({ ...good, addresses: ['192.168.0.99'] }, other), { source: '10.0.0.8' }),
    );
    assert.equal(instance.counters.dropped.addressListMismatch, 1);
  });

  it('unicast mode ignores TTL but can require a known peer as source', () => {
    const instance = backup({
      sourceIp: '10.0.0.2',
      unicastPeers: ['10.0.0.1'],
      checkUnicastSource: true,
    });
    const uni = { ...mcast, destination: '10.0.0.2' };
    instance.receive(
      packet(encodeAdvert(good, { ...uni, source: '10.0.0.1' }), {
        source: '10.0.0.1',
        destination: '10.0.0.2',
        ttlOrHopLimit: 60,
      }),
    );
    assert.equal(instance.counters.advertsReceived, 1);
    instance.receive(packet(encodeAdvert(good, uni), { destination: '10.0.0.2' }));
    assert.equal(instance.counters.dropped.unicastSourceNotPeer, 1);
  });

  it('accepts the old unicast v3 checksum and then sends with it', () => {
    const c = new TestCluster();
    const node = c.add('b', '10.0.0.2', [
      instanceOptions({
        version: 3,
        priority: 255,
        sourceIp: '10.0.0.2',
        unicastPeers: ['10.0.0.1'],
      }),
    ]);
    node.engine.start();
    const instance = node.engine.instance('VI_1');
    const legacy = encodeAdvert(
      {
        version: 3,
        type: 1,
        vrid: 51,
        priority: 100,
        authType: 0,
        advertIntervalMs: 1000,
        addresses: ['192.168.0.203'],
      },
      { family: 4, source: '10.0.0.1', destination: '224.0.0.18' },
    );
    instance.receive(packet(legacy, { source: '10.0.0.1', destination: '10.0.0.2' }));
    assert.equal(instance.counters.advertsReceived, 1);
    assert.equal(instance.counters.dropped.checksum, 0);
    // Our answer (a lower priority advert makes the master answer) uses the legacy form too.
    const answer = c.network.sentBy('b').at(-1)!;
    assert.ok(
      checksumIsValid(answer.payload, 3, {
        family: 4,
        source: '10.0.0.2',
        destination: '224.0.0.18',
      }),
    );
  });

  it('in FAULT, adverts are not processed', () => {
    const c = new TestCluster();
    const node = c.add('b', '10.0.0.2', [
      instanceOptions({ authPass: 'secret', trackInterfaces: [{ interface: 'eth1' }] }),
    ]);
    node.links.set('eth1', false);
    node.engine.start();
    const instance = node.engine.instance('VI_1');
    assert.equal(instance.state, 'FAULT');
    instance.receive(packet(encodeAdvert(good, mcast)));
    assert.equal(instance.counters.advertsReceived, 0);
  });
});
