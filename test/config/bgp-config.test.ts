import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { problems } from './helpers.js';

/** global_defs with `globals` (from line 2), one virtual server with `body` and scheduler `sched`. */
const conf = (globals: string, sched = 'mh', body = '') =>
  `global_defs {\n${globals}\n}\nvirtual_server 10.0.0.1 80 {\n  lvs_sched ${sched}\n  lvs_method DR\n${body}\n  real_server 10.0.0.2 80 {\n    weight 1\n  }\n}\n`;

/** The warnings about BGP (others, such as which data plane runs wlc, are not this test's). */
const warnings = (text: string, file = 'k.conf') =>
  parseConfigText(text, file)
    .warnings.map((w) => `${w.line}:${w.column}: ${w.message}`)
    .filter((w) => w.includes('BGP'));

describe('BGP announcement configuration', () => {
  it('keepalived.conf: lbctl_bgp_table enables it, delays are seconds as keepalived writes them', () => {
    const { config } = parseConfigText(
      conf(
        '  lbctl_bgp_table 200\n  lbctl_bgp_withdraw_delay 0.5',
        'mh',
        '  lbctl_bgp_announce off',
      ),
      'k.conf',
    );
    assert.deepEqual(config.global.bgp, { table: 200, withdrawDelayMs: 500 });
    assert.equal(config.virtualServers[0]?.bgpAnnounce, false);
    const plain = parseConfigText(conf('  router_id a'), 'k.conf').config;
    assert.equal(plain.global.bgp, undefined);
    assert.equal(plain.virtualServers[0]?.bgpAnnounce, true);
  });

  it('YAML: global.bgp with a default withdraw delay of one second', () => {
    const yaml = `global:\n  bgp:\n    table: 200\nvirtualServers:\n  - address: 10.0.0.1\n    port: 80\n    scheduler: mh\n    lbKind: DR\n    realServers:\n      - address: 10.0.0.2\n        port: 80\n`;
    const { config } = parseConfigText(yaml, 'c.yaml');
    assert.deepEqual(config.global.bgp, { table: 200, withdrawDelayMs: 1000 });
  });

  it('refuses a table the kernel uses, or no table, at file:line:col', () => {
    assert.deepEqual(
      problems(() => parseConfigText(conf('  lbctl_bgp_table 254'), 'k.conf')),
      [
        '2:19: lbctl_bgp_table: must not be a table the kernel uses itself (253 default, 254 main, 255 local)',
      ],
    );
    const missing = problems(() => parseConfigText(conf('  lbctl_bgp_withdraw_delay 1'), 'k.conf'));
    assert.equal(missing.length, 1);
    assert.match(
      missing[0]!,
      /^1:1: 'lbctl_bgp_table' of global_defs: is required to announce over BGP/,
    );
    const yaml = `global:\n  bgp:\n    table: 0\nvirtualServers: []\n`;
    assert.match(
      problems(() => parseConfigText(yaml, 'c.yaml'))[0]!,
      /^3:12: .*from 1 to 4294967295/,
    );
  });

  it('warns when ECMP would move established flows on a director loss', () => {
    const bgp = '  lbctl_bgp_table 200';
    assert.deepEqual(warnings(conf(bgp, 'mh')), []);
    for (const sched of ['rr', 'wrr', 'wlc', 'sh']) {
      const found = warnings(conf(bgp, sched));
      assert.equal(found.length, 1, sched);
      assert.match(
        found[0]!,
        new RegExp(`^5:13: .*scheduler ${sched} decides per director.*connection sync`),
      );
    }
    assert.match(warnings(conf(bgp, 'mh', '  persistence_timeout 60')).join(), /persistence/);
    assert.match(
      warnings(`${conf(bgp, 'mh')}`.replace('lvs_method DR', 'lvs_method NAT')).join(),
      /NAT keeps/,
    );
    assert.match(
      warnings(conf(`${bgp}\n  lbctl_data_plane ipvs`, 'mh')).join(),
      /kernel IPVS forwards only/,
    );
    // Connection sync carries the flows to the other directors: no warning.
    const synced = `${conf(`${bgp}\n  lvs_sync_daemon eth0 VI_1`, 'rr')}vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n`;
    assert.deepEqual(warnings(synced), []);
    // Not announced, or no BGP at all: nothing to warn about.
    assert.deepEqual(warnings(conf(bgp, 'rr', '  lbctl_bgp_announce off')), []);
    assert.deepEqual(warnings(conf('  router_id a', 'rr')), []);
  });
});
