/**
 * keepalived 2.2.7's tunnel options after `lvs_method TUN` (type ipip|gue|gre,
 * port, nocsum|csum|remcsum): read into the model, checked by its rules,
 * carried to the data plane, and refused where the data plane cannot do them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, type ConfigIssue } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { IPVS_CAPABILITIES } from '../../src/dataplane/ipvs/capabilities.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { XDP_CAPABILITIES } from '../../src/dataplane/xdp/capabilities.js';
import { mapVirtualServer } from '../../src/reconcile/service-mapping.js';

const conf = (plane: string, vsMethod: string, realMethod = '', sorry = '') =>
  [
    'global_defs {', // 1
    `  lbctl_data_plane ${plane}`, // 2
    '}', // 3
    'virtual_server 10.0.0.100 80 {', // 4
    '  lb_algo rr', // 5
    '  protocol TCP', // 6
    `  lvs_method ${vsMethod}`, // 7
    sorry === '' ? '' : `  sorry_server 10.0.0.13 80\n  sorry_server_lvs_method ${sorry}`, // 8
    '  real_server 10.0.0.11 80 {', // 9 (10 with a sorry server)
    realMethod === '' ? '' : `    lvs_method ${realMethod}`,
    '  }',
    '  real_server 10.0.0.12 80 {',
    '  }',
    '}',
  ].join('\n');

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfigText(text, 'k.conf');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.issues];
  }
  assert.fail('the configuration was accepted');
}

describe('TUN tunnel options (keepalived lvs_method TUN type ...)', () => {
  it('reads type, port and checksum; reals inherit the virtual server, their own TUN starts from IPIP', () => {
    const { config } = parseConfigText(
      conf('ipvs', 'TUN type gue port 6080 csum', 'TUN', 'TUN type gre csum'),
      'k.conf',
    );
    const vs = config.virtualServers[0]!;
    assert.deepEqual(vs.realServers[0]?.tunnel, { type: 'ipip', checksum: 'nocsum' });
    assert.deepEqual(vs.realServers[1]?.tunnel, { type: 'gue', port: 6080, checksum: 'csum' });
    assert.deepEqual(vs.sorryServer?.tunnel, { type: 'gre', checksum: 'csum' });
    const mapped = mapVirtualServer(vs, config.virtualServerGroups, 'ipvs');
    assert.deepEqual(
      mapped.reals.map((r) => [r.forwarding, r.tunnel]),
      [
        ['tun', { type: 'ipip', checksum: 'nocsum' }],
        ['tun', { type: 'gue', port: 6080, checksum: 'csum' }],
      ],
    );
    assert.deepEqual(mapped.sorry?.tunnel, { type: 'gre', checksum: 'csum' });
  });

  it('under dataPlane auto a GUE service runs on IPVS; plain TUN stays on XDP', () => {
    for (const [method, plane] of [
      ['TUN type gue port 6080', 'ipvs'],
      ['TUN', 'xdp'],
      ['TUN type ipip', 'xdp'],
    ] as const) {
      const { config } = parseConfigText(conf('auto', method), 'k.conf');
      const vs = config.virtualServers[0]!;
      assert.equal(mapVirtualServer(vs, config.virtualServerGroups, 'auto').plane, plane, method);
    }
  });

  it('refuses under dataPlane xdp what XDP cannot encapsulate, at the line that asks for it', () => {
    const [gue] = issuesOf(conf('xdp', 'TUN', 'TUN type gue port 6080'));
    assert.equal(gue?.line, 10);
    assert.match(
      gue?.message ?? '',
      /the XDP data plane cannot run it: tunnel type GUE is not supported \(it does IPIP\)/,
    );
    const [gre] = issuesOf(conf('xdp', 'TUN', 'TUN type gre csum'));
    assert.match(
      gre?.message ?? '',
      /tunnel type GRE is not supported.*tunnel checksum option csum is not supported/,
    );
  });

  it("keeps keepalived's rules: GUE needs a port, only GUE has one, IPIP no checksum, GRE no remcsum", () => {
    for (const [method, reason] of [
      ['TUN type gue', /a GUE tunnel needs a port/],
      ['TUN type gre port 5555', /a GRE tunnel has no port/],
      ['TUN csum', /an IPIP tunnel has no checksum option \(csum\)/],
      ['TUN type gre remcsum', /a GRE tunnel cannot use remote checksum offload/],
    ] as const) {
      const issues = issuesOf(conf('ipvs', 'DR', method));
      assert.equal(issues.length, 1, method);
      assert.equal(issues[0]?.line, 10, method);
      assert.match(issues[0]?.message ?? '', reason, method);
    }
  });

  it('names an unknown option or type, and a missing value, at its token', () => {
    const [type] = issuesOf(conf('ipvs', 'TUN type vxlan'));
    assert.deepEqual([type?.line, type?.column], [7, 23]);
    assert.match(type?.message ?? '', /unknown tunnel type 'vxlan' \(expected ipip, gue, gre\)/);
    const [option] = issuesOf(conf('ipvs', 'TUN tos 4'));
    assert.match(option?.message ?? '', /unknown tunnel option 'tos'/);
    const [missing] = issuesOf(conf('ipvs', 'TUN type gue port'));
    assert.match(missing?.message ?? '', /tunnel option 'port' needs a value/);
    const [port] = issuesOf(conf('ipvs', 'TUN type gue port 70000'));
    assert.deepEqual([port?.line, port?.column], [7, 32]);
    assert.match(port?.message ?? '', /tunnel port.*must be an integer from 1 to 65535/);
  });

  it('warns and ignores tunnel options after DR or NAT, as keepalived reads none there', () => {
    const { config, warnings } = parseConfigText(conf('ipvs', 'DR type gue port 1'), 'k.conf');
    assert.equal(config.virtualServers[0]?.realServers[0]?.tunnel, undefined);
    assert.ok(
      warnings.some(
        (w) => w.line === 7 && /tunnel options apply to lvs_method TUN only/.test(w.message),
      ),
      JSON.stringify(warnings),
    );
  });
});

describe('tunnel options on the data planes', () => {
  const gue = (checksum: 'nocsum' | 'remcsum') =>
    [
      {
        address: '10.0.0.11',
        port: 80,
        weight: 1,
        forwarding: 'tun' as const,
        tunnel: { type: 'gue' as const, port: 6080, checksum },
      },
    ] as const;
  const web = { vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' } as const;

  it("a data plane checks a write against its own declaration (XdpDataPlane's first check)", async () => {
    await assert.rejects(
      new MemoryDataPlane(XDP_CAPABILITIES).setService(web, gue('nocsum')),
      /the XDP data plane: tunnel type GUE is not supported \(it does IPIP\)/,
    );
    await new MemoryDataPlane(IPVS_CAPABILITIES).setService(web, gue('remcsum'));
  });

  it('the rules hold at the data plane too', async () => {
    await assert.rejects(
      new MemoryDataPlane(IPVS_CAPABILITIES).setService(web, [
        { ...gue('nocsum')[0], tunnel: { type: 'gre', port: 1, checksum: 'nocsum' } },
      ]),
      /real 10\.0\.0\.11:80: a GRE tunnel has no port/,
    );
  });
});
