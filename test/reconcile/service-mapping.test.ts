import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/model.js';
import { serviceName } from '../../src/dataplane/dataplane.js';
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
      'virtual_server 10.0.0.100 80 { lb_algo wlc\n lb_kind DR\n protocol TCP\n real_server 10.0.0.11 80 { } }',
      /TCP 10\.0\.0\.100:80: the XDP data plane cannot run it: scheduler wlc/,
    ],
    [
      'a fwmark service',
      'virtual_server fwmark 7 { lb_algo rr\n lb_kind DR\n real_server 10.0.0.11 80 { } }',
      /fwmark 7: the XDP data plane cannot run it: fwmark services match the marks netfilter sets, and it runs before netfilter sees the packet/,
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

  it('maps virtual_server fwmark (and a group fwmark entry) to IPVS mark services with no VIP', () => {
    const c = config(`virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    persistence_timeout 60
    real_server 10.0.0.11 0 { }
}
virtual_server fwmark 8 {
    lb_algo wlc
    lb_kind NAT
    real_server 2001:db8::11 0 { }
}
virtual_server_group mixed {
    10.0.0.100 80
    fwmark 9
}
virtual_server group mixed {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 { }
}`);
    const [v4, v6, group] = c.virtualServers.map((vs) =>
      mapVirtualServer(vs, c.virtualServerGroups, 'auto'),
    );
    assert.equal(v4?.plane, 'ipvs');
    assert.deepEqual(v4?.services, [
      {
        vip: '0.0.0.0',
        port: 0,
        protocol: 'tcp',
        fwmark: 7,
        scheduler: 'rr',
        persistence: { timeoutS: 60 },
      },
    ]);
    assert.deepEqual(v4?.vips, [], 'a mark has no VIP to find a VRRP instance or interface by');
    // The family of a mark service follows its reals, as in keepalived.
    assert.deepEqual(
      v6?.services.map((s) => `${serviceName(s)} ${s.vip} ${s.scheduler}`),
      ['FWM 8 IPv6 :: wlc'],
    );
    assert.equal(group?.plane, 'ipvs');
    assert.deepEqual(
      group?.services.map((s) => serviceName(s)),
      ['TCP 10.0.0.100:80', 'FWM 9'],
    );
    assert.deepEqual(group?.vips, ['10.0.0.100']);
  });

  it('runs uthreshold/lthreshold on kernel IPVS (XDP keeps no connection counts)', () => {
    const c = config(
      'virtual_server 10.0.0.100 80 { lb_algo rr\n lb_kind DR\n real_server 10.0.0.11 80 { uthreshold 100\n lthreshold 10 } }',
    );
    const vs = c.virtualServers[0]!;
    const mapped = mapVirtualServer(vs, c.virtualServerGroups, 'auto');
    assert.equal(mapped.plane, 'ipvs');
    assert.deepEqual(mapped.reals, [
      {
        address: '10.0.0.11',
        port: 80,
        weight: 1,
        forwarding: 'dr',
        upperThreshold: 100,
        lowerThreshold: 10,
      },
    ]);
    assert.throws(
      () => mapVirtualServer(vs, c.virtualServerGroups, 'xdp'),
      /connection thresholds \(uthreshold, lthreshold\) need live connection counts/,
    );
  });

  it('gives sh-fallback to kernel IPVS only (XDP always falls back)', () => {
    const c = config(
      'virtual_server 10.0.0.100 80 { lb_algo sh\n sh-fallback\n lb_kind DR\n real_server 10.0.0.11 80 { } }',
    );
    const vs = c.virtualServers[0]!;
    assert.equal(
      mapVirtualServer(vs, c.virtualServerGroups, 'ipvs').services[0]?.schedulerFallback,
      true,
    );
    const xdp = mapVirtualServer(vs, c.virtualServerGroups, 'auto');
    assert.equal(xdp.plane, 'xdp');
    assert.equal(xdp.services[0]?.schedulerFallback, undefined);
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
