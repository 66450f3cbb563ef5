import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/errors.js';
import { resolveInstanceOptions } from '../../src/vrrp/options.js';
import { decodeAdvert, encodeAdvert } from '../../src/vrrp/packet.js';
import { instanceOptions, TestCluster } from './support/cluster.js';

// keepalived's virtual_ipaddress_excluded: held by the master, never advertised.
const excludedVips = [
  { address: '192.168.0.210', prefixLength: 24 },
  { address: 'fd00:78::210', prefixLength: 64 },
];

function pair() {
  const c = new TestCluster();
  const a = c.add('a', '10.0.0.1', [instanceOptions({ priority: 150, excludedVips })]);
  const b = c.add('b', '10.0.0.2', [instanceOptions({ priority: 100, excludedVips })]);
  a.engine.start();
  b.engine.start();
  c.clock.advance(5000);
  return { c, a, b };
}

describe('virtual_ipaddress_excluded', () => {
  it('are added by the master, with GARP for IPv4 and unsolicited NA for IPv6', () => {
    const { c, a, b } = pair();
    assert.equal(c.state('a'), 'MASTER');
    assert.equal(c.state('b'), 'BACKUP');
    assert.deepEqual([...a.effects.addresses.keys()].sort(), [
      '192.168.0.203',
      '192.168.0.210',
      'fd00:78::210',
    ]);
    assert.equal(b.effects.addresses.size, 0);
    const garps = a.effects.of('garp').map((e) => e.target);
    const nas = a.effects.of('unsolicited-na').map((e) => e.target);
    assert.ok(garps.includes('192.168.0.210'));
    assert.ok(!garps.includes('fd00:78::210'), 'no ARP for an IPv6 address');
    assert.deepEqual([...new Set(nas)], ['fd00:78::210']);
  });

  it('are not carried in adverts, and the backup accepts adverts without them', () => {
    const { c, b } = pair();
    const adverts = c.network.sentBy('a');
    assert.ok(adverts.length > 0);
    for (const sent of adverts) {
      assert.deepEqual(decodeAdvert(sent.payload, 4).addresses, ['192.168.0.203']);
      const bytes = sent.payload.toString('hex');
      assert.ok(!bytes.includes('c0a800d2'), '192.168.0.210 is not in the advert bytes');
    }
    const instance = b.engine.instance('VI_1');
    assert.ok(instance.counters.advertsReceived > 0);
    assert.equal(instance.counters.dropped.addressListMismatch, 0);
  });

  it('a receive check counts an advert listing an excluded address as a mismatch', () => {
    const { c, b } = pair();
    const instance = b.engine.instance('VI_1');
    // What the master sends, with an excluded address added to the list.
    const [sent] = c.network.sentBy('a');
    assert.ok(sent);
    const advert = decodeAdvert(sent.payload, 4);
    const payload = encodeAdvert(
      { ...advert, addresses: [...advert.addresses, '192.168.0.210'] },
      { family: 4, source: '10.0.0.1', destination: '224.0.0.18' },
    );
    instance.receive({
      source: '10.0.0.1',
      destination: '224.0.0.18',
      ttlOrHopLimit: 255,
      payload,
      interface: 'eth0',
    });
    assert.equal(instance.counters.dropped.addressListMismatch, 1);
  });

  it('move with mastership and are released on leaving MASTER', () => {
    const { c, a, b } = pair();
    void a.engine.stop();
    c.clock.advance(5000);
    assert.equal(c.state('b'), 'MASTER');
    assert.equal(a.effects.addresses.size, 0);
    assert.deepEqual([...b.effects.addresses.keys()].sort(), [
      '192.168.0.203',
      '192.168.0.210',
      'fd00:78::210',
    ]);
  });

  it('an instance with only excluded addresses runs in version 2 with empty adverts', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [instanceOptions({ vips: [], excludedVips })]);
    a.engine.start();
    c.clock.advance(5000);
    assert.equal(c.state('a'), 'MASTER');
    assert.equal(a.effects.addresses.size, 2);
    const sent = c.network.sentBy('a')[0];
    assert.ok(sent);
    assert.deepEqual(decodeAdvert(sent.payload, 4).addresses, []);
  });

  it('an instance without virtual_ipaddress is refused in version 3, as keepalived does', () => {
    assert.throws(
      () => resolveInstanceOptions(instanceOptions({ vips: [], excludedVips, version: 3 })),
      (err) => hasCode(err, 'VRRP_INVALID_OPTION') && /VRRP version 3 requires/.test(String(err)),
    );
  });

  it('refuses an excluded entry that is not an address, naming it', () => {
    assert.throws(
      () => resolveInstanceOptions(instanceOptions({ excludedVips: [{ address: 'nope' }] })),
      /virtual_ipaddress_excluded #1 "nope" is not an IP address/,
    );
  });
});
