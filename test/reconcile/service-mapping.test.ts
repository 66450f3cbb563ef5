import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';
import { hasCode } from '../../src/errors.js';
import { mapVirtualServer, prefixLengthOf } from '../../src/reconcile/service-mapping.js';

function config(body: string): Config {
  return parseConfigText(body, 'test.conf', { format: 'keepalived' }).config;
}

const REALS = `
    real_server 10.0.0.11 80 { weight 3 }
    real_server 10.0.0.12 8080 { weight 1 }`;

describe('mapping virtual servers to data-plane services', () => {
  it('maps lb_algo, lb_kind, protocol and persistence to the data plane names', () => {
    const c = config(`virtual_server 10.0.0.100 80 {
    lb_algo wrr
    lb_kind NAT
    protocol UDP
    persistence_timeout 1.5
    persistence_granularity 255.255.255.0
    sorry_server 10.0.0.50 80
    ${REALS}
}`);
    const mapped = mapVirtualServer(c.virtualServers[0]!, c.virtualServerGroups);
    assert.equal(mapped.name, 'UDP 10.0.0.100:80');
    assert.deepEqual(mapped.services, [
      {
        vip: '10.0.0.100',
        port: 80,
        protocol: 'udp',
        scheduler: 'wrr',
        persistence: { timeoutS: 2, prefixLength: 24 },
      },
    ]);
    assert.equal(mapped.reals.find((r) => r.port === 8080)?.forwarding, 'nat');
    assert.equal(mapped.sorry?.forwarding, 'nat');
    assert.deepEqual(mapped.vips, ['10.0.0.100']);
  });

  it('expands a virtual_server_group into one service per address and port', () => {
    const c = config(`virtual_server_group web {
    10.0.0.100 80
    10.0.0.101-103 443
}
virtual_server group web {
    lb_algo mh
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 { }
}`);
    const mapped = mapVirtualServer(c.virtualServers[0]!, c.virtualServerGroups);
    assert.deepEqual(
      mapped.services.map((s) => `${s.vip}:${s.port}/${s.scheduler}`),
      ['10.0.0.100:80/mh', '10.0.0.101:443/mh', '10.0.0.102:443/mh', '10.0.0.103:443/mh'],
    );
    assert.equal(mapped.reals.find((r) => r.address === '10.0.0.11')?.forwarding, 'dr');
  });

  it('writes IPv6 VIPs in one canonical spelling', () => {
    const c = config(`virtual_server 2001:DB8:0:0::100 80 {
    lb_algo rr
    lb_kind DR
    real_server 2001:db8::11 80 { }
}`);
    const mapped = mapVirtualServer(c.virtualServers[0]!, c.virtualServerGroups);
    assert.equal(mapped.services[0]?.vip, '2001:db8::100');
  });

  for (const [what, body, reason] of [
    [
      'a connection-counting scheduler',
      'virtual_server 10.0.0.100 80 { lb_algo wlc\n lb_kind DR\n real_server 10.0.0.11 80 { } }',
      /TCP 10\.0\.0\.100:80: the XDP data plane cannot run it: scheduler wlc/,
    ],
    [
      'a fwmark service',
      'virtual_server fwmark 7 { lb_algo rr\n lb_kind DR\n real_server 10.0.0.11 80 { } }',
      /fwmark 7: the XDP data plane cannot run it: fwmark services need netfilter marks/,
    ],
    [
      'SCTP',
      'virtual_server 10.0.0.100 80 { lb_algo rr\n protocol SCTP\n real_server 10.0.0.11 80 { } }',
      /protocol SCTP is not supported/,
    ],
  ] as const) {
    it(`rejects ${what} with a clear error under dataPlane xdp`, () => {
      const c = config(body);
      assert.throws(
        () => mapVirtualServer(c.virtualServers[0]!, c.virtualServerGroups, 'xdp'),
        (err: Error) => hasCode(err, 'VIRTUAL_SERVER_UNSUPPORTED') && reason.test(err.message),
      );
    });
  }

  it('maps wlc and SCTP to kernel IPVS under dataPlane auto', () => {
    for (const body of [
      'virtual_server 10.0.0.100 80 { lb_algo wlc\n lb_kind DR\n real_server 10.0.0.11 80 { } }',
      'virtual_server 10.0.0.100 80 { lb_algo rr\n protocol SCTP\n real_server 10.0.0.11 80 { } }',
    ]) {
      const c = config(body);
      assert.equal(
        mapVirtualServer(c.virtualServers[0]!, c.virtualServerGroups, 'auto').plane,
        'ipvs',
      );
    }
  });

  it('reads persistence_granularity as a netmask or a prefix length', () => {
    const reject = (r: string): never => {
      throw new Error(r);
    };
    assert.equal(prefixLengthOf('255.255.0.0', 'ipv4', reject), 16);
    assert.equal(prefixLengthOf('255.255.255.255', 'ipv4', reject), 32);
    assert.equal(prefixLengthOf('64', 'ipv6', reject), 64);
    assert.equal(prefixLengthOf('/48', 'ipv6', reject), 48);
    assert.throws(() => prefixLengthOf('255.0.255.0', 'ipv4', reject), /not a contiguous/);
    assert.throws(() => prefixLengthOf('33', 'ipv4', reject), /not a contiguous ipv4 netmask/);
  });
});
