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

/** A backup node whose log lines are kept. */
function loggedBackup() {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const c = new TestCluster();
  const node = c.add('b', '10.0.0.2', [instanceOptions({ authPass: 'secret' })], { logger });
  node.engine.start();
  return { lines, c, instance: node.engine.instance('VI_1') };
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

const withVersion = (b: Buffer, version: number) => {
  const copy = Buffer.from(b);
  copy[0] = (version << 4) | (copy[0]! & 0x0f);
  return copy;
};

// One row per reason, in keepalived's check order; each must bump exactly its counter.
const table: [DropReason, () => ReceivedPacket][] = [
  ['packetLength', () => packet(encodeAdvert(good, mcast).subarray(0, 19))],
  ['ttl', () => packet(encodeAdvert(good, mcast), { ttlOrHopLimit: 64 })],
  ['version', () => packet(encodeAdvert({ ...good, version: 3, authType: 0 }, mcast))],
  // Versions that do not exist are version errors too, not length errors.
  ['version', () => packet(withVersion(encodeAdvert(good, mcast), 1))],
  ['version', () => packet(withVersion(encodeAdvert(good, mcast), 15))],
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

  it('logs an address list mismatch at most once a minute, then how many were not logged', () => {
    const { lines, c, instance } = loggedBackup();
    const bad = () => packet(encodeAdvert({ ...good, addresses: ['192.168.0.99'] }, mcast));
    const logged = () => lines.filter((l) => l.includes('address list mismatch')).length;
    instance.receive(bad());
    instance.receive(bad());
    c.clock.advance(59_999);
    instance.receive(bad());
    assert.equal(logged(), 1);
    c.clock.advance(1);
    // The window's end reports the two that were only counted.
    assert.equal(logged(), 2);
    assert.match(lines.at(-1) ?? '', /address list mismatch: 2 more in 60 s not logged/);
    instance.receive(bad());
    assert.equal(logged(), 3);
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

describe('VRRP receive floods and dispatch', () => {
  it('150,000 bad-checksum adverts: every one counted, a bounded number of log lines', () => {
    const { lines, c, instance } = loggedBackup();
    const bad = packet(withChecksumBroken(encodeAdvert(good, mcast)));
    const before = lines.length;
    for (let i = 0; i < 150_000; i++) {
      instance.receive(bad);
      if (i % 30_000 === 29_999) c.clock.advance(1000);
    }
    assert.equal(instance.counters.dropped.checksum, 150_000);
    const dropLines = () => lines.slice(before).filter((l) => l.includes('advert dropped'));
    assert.equal(dropLines().length, 1, 'one line in the first window');
    c.clock.advance(60_000);
    const all = dropLines();
    assert.equal(all.length, 2);
    const summary = JSON.parse(all[1] ?? '{}');
    assert.equal(summary.suppressed, 149_999);
    assert.equal(summary.reason, 'checksum');
    assert.match(summary.msg, /advert dropped: 149999 more in 60 s not logged/);
  });

  function masterWithAttacker() {
    const c = new TestCluster();
    const node = c.add('a', '10.0.0.1', [instanceOptions({ priority: 100 })]);
    node.engine.start();
    c.clock.advance(4000);
    assert.equal(c.state('a'), 'MASTER');
    const evil = c.network
      .attach('evil', { eth0: ['10.0.0.66'] })
      .open({ family: 4, interface: 'eth0' }, () => {});
    const send = (source: string, payload: Buffer) => {
      evil.send({
        source,
        destination: '224.0.0.18',
        ttlOrHopLimit: 255,
        payload,
        interface: 'eth0',
      });
      c.clock.advance(0);
    };
    return { c, node, send };
  }

  it('an advert from 0.0.0.0 is rejected and counted, even with a higher priority', () => {
    const { c, node, send } = masterWithAttacker();
    const { authData: _unused, ...noAuth } = good;
    const strong = { ...noAuth, priority: 254, authType: 0 };
    send('0.0.0.0', encodeAdvert(strong, { ...mcast, source: '0.0.0.0' }));
    send('224.0.0.5', encodeAdvert(strong, { ...mcast, source: '224.0.0.5' }));
    assert.equal(node.engine.dispatch.invalidSource, 2);
    assert.equal(c.state('a'), 'MASTER', 'no takeover from a source no router has');
    assert.equal(node.engine.instance('VI_1').counters.advertsReceived, 0);
  });

  it('adverts shorter than 8 bytes and for another VRID are counted at dispatch', () => {
    const { node, send } = masterWithAttacker();
    send('10.0.0.66', Buffer.from([0x21, 51, 100]));
    send('10.0.0.66', encodeAdvert({ ...good, vrid: 52 }, { ...mcast, source: '10.0.0.66' }));
    assert.deepEqual(node.engine.dispatch, { tooShort: 1, unknownVrid: 1, invalidSource: 0 });
  });
});
