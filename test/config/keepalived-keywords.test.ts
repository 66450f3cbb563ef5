import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IssueList } from '../../src/config/errors.js';
import { parseConfigText, readKeepalived } from '../../src/config/load.js';
import { documentToYaml } from '../../src/config/to-yaml.js';
import { healthOptions } from '../../src/reconcile/health-options.js';
import { mapVirtualServer } from '../../src/reconcile/service-mapping.js';
import { problems } from './helpers.js';

/** A minimal valid instance; `body` starts on line 4. */
const vi = (body: string) =>
  `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 9\n${body}\n  virtual_ipaddress {\n    10.9.9.9\n  }\n}\n`;

/** A virtual server with one real; `body` starts on line 2. */
const vs = (body: string) =>
  `virtual_server 10.0.0.1 80 {\n${body}\n  real_server 10.0.0.2 80 {\n    weight 1\n  }\n  protocol TCP\n}\n`;

test('a misspelt keyword is warned with the keyword that was probably meant', () => {
  const { config, warnings } = parseConfigText(vi('  priorty 150'), 'k.conf');
  assert.equal(config.vrrpInstances[0]?.priority, 100);
  assert.deepEqual(
    warnings.map((w) => `${w.line}:${w.column}: ${w.message}`),
    ["4:3: unknown keyword 'priorty' in vrrp_instance VI_1 (did you mean 'priority'?); ignored"],
  );
  // Strict mode refuses it, with the same suggestion; a word far from every keyword gets none.
  assert.deepEqual(
    problems(() => parseConfigText(vs('  lb_algoo rr\n  zzzzzz 1'), 'k.conf', { strict: true })),
    [
      "2:3: unknown keyword 'lb_algoo' in virtual_server 10.0.0.1 80 (did you mean 'lb_algo'?)",
      "3:3: unknown keyword 'zzzzzz' in virtual_server 10.0.0.1 80",
    ],
  );
});

test("authentication with VRRP version 3 is ignored with keepalived's warning, per instance or globally", () => {
  const auth = '  authentication {\n    auth_type PASS\n    auth_pass secret\n  }';
  for (const text of [
    vi(`  version 3\n${auth}`),
    `global_defs {\n  vrrp_version 3\n}\n${vi(auth)}`,
  ]) {
    const { config, warnings } = parseConfigText(text, 'k.conf');
    assert.equal(config.vrrpInstances[0]?.authentication, undefined);
    assert.equal(config.vrrpInstances[0]?.version, 3);
    const warning = warnings.find((w) => w.message.includes('does not support authentication'));
    assert.equal(warning?.message, 'VRRP version 3 does not support authentication. Ignoring.');
  }
  // Version 2 keeps it.
  const { config } = parseConfigText(vi(auth), 'k.conf');
  assert.equal(config.vrrpInstances[0]?.authentication?.type, 'PASS');
});

test('a vrrp_script whose script line is for another host is removed with its tracking, as keepalived does', () => {
  const text = `vrrp_script chk {\n@other  script /bin/true\n  interval 1\n}\nvrrp_script kept {\n  script /bin/true\n}\n${vi('  track_script {\n    chk\n    kept\n  }\n  priority 300')}`;
  const problemsFound = problems(() => parseConfigText(text, 'k.conf', { configId: 'this' }));
  // The out-of-range priority still points at its own line after the removal renumbered the lists.
  assert.deepEqual(problemsFound, ['15:12: priority: must be an integer from 1 to 255']);
  const fixed = text.replace('priority 300', 'priority 30');
  const { config, warnings } = parseConfigText(fixed, 'k.conf', { configId: 'this' });
  assert.deepEqual(
    config.vrrpScripts.map((s) => s.name),
    ['kept'],
  );
  assert.deepEqual(
    config.vrrpInstances[0]?.trackScripts.map((t) => t.name),
    ['kept'],
  );
  assert.deepEqual(
    warnings.map((w) => `${w.line}:${w.column}: ${w.message}`),
    [
      "1:1: vrrp_script chk has no 'script' line; the script is removed",
      '12:5: track_script chk: that vrrp_script was removed; the tracking of it is ignored',
    ],
  );
  // On the host the line is for, the script stays.
  const other = parseConfigText(fixed, 'k.conf', { configId: 'other' });
  assert.deepEqual(
    other.config.vrrpScripts.map((s) => s.name),
    ['chk', 'kept'],
  );
});

test('a vrrp_sync_group listing instances without a group block is ignored with a warning', () => {
  const { config, warnings } = parseConfigText(
    `vrrp_sync_group VG1 {\n  VI_1\n}\n${vi('')}`,
    'k.conf',
  );
  assert.deepEqual(config.vrrpSyncGroups, []);
  assert.match(warnings[0]?.message ?? '', /vrrp_sync_group VG1 has no instances/);
  assert.match(warnings[1]?.message ?? '', /unknown keyword 'VI_1' in vrrp_sync_group VG1/);
});

test('nb_get_retry is ignored as keepalived 2.2.7 ignores it, with a warning saying to use retry', () => {
  const text = vs('  lvs_sched rr\n  lvs_method NAT').replace(
    '    weight 1',
    '    TCP_CHECK {\n      nb_get_retry 7\n    }',
  );
  const { config, warnings } = parseConfigText(text, 'k.conf');
  assert.equal(config.virtualServers[0]?.realServers[0]?.checkers[0]?.retry, 1);
  assert.match(
    warnings[0]?.message ?? '',
    /'nb_get_retry' is not a keyword of keepalived 2\.2\.7.*use 'retry'/,
  );
});

test('sh-port and mh-port reach the data plane; the fallback flags and sorry_server_inhibit reach the model', () => {
  const text = vs(
    '  lvs_sched sh\n  lvs_method NAT\n  sh-port\n  sh-fallback\n  sorry_server 10.0.0.9 80\n  sorry_server_inhibit',
  );
  const { config } = parseConfigText(text, 'k.conf');
  const server = config.virtualServers[0];
  assert.ok(server);
  assert.equal(server.hashSourcePort, true);
  assert.equal(server.schedulerFallback, true);
  assert.equal(server.sorryServer?.inhibit, true);
  assert.equal(mapVirtualServer(server, []).services[0]?.hashSourcePort, true);
  assert.equal(healthOptions('vs', server, config.global, {}).sorryServer?.inhibit, true);

  const mh = parseConfigText(vs('  lvs_sched mh\n  mh-port\n  mh-fallback'), 'k.conf').config;
  assert.equal(mapVirtualServer(mh.virtualServers[0]!, []).services[0]?.hashSourcePort, true);
  const plain = parseConfigText(vs('  lvs_sched mh'), 'k.conf').config.virtualServers[0];
  assert.equal(plain?.hashSourcePort, false);
  assert.equal(mapVirtualServer(plain!, []).services[0]?.hashSourcePort, undefined);
});

test('keywords lbctl cannot honour are refused at validate with the reason, never ignored', () => {
  const cases: [string, RegExp][] = [
    [vi('  use_vmac'), /4:3: 'use_vmac' is not supported by lbctl: VIPs live on/],
    [vi('  vmac_xmit_base'), /4:3: 'vmac_xmit_base' is not supported by lbctl/],
    [
      vi('  track_process {\n    nginx\n  }'),
      /4:3: 'track_process' is not supported by lbctl: .*vrrp_script/,
    ],
    [
      `global_defs {\n  vrrp_strict\n}\n${vi('')}`,
      /2:3: 'vrrp_strict' is not supported by lbctl: RFC-strict/,
    ],
    [
      `global_defs {\n  notify_fifo /run/k.fifo\n}\n${vi('')}`,
      /2:3: 'notify_fifo' is not supported by lbctl/,
    ],
    [
      `global_defs {\n  vrrp_notify_fifo /run/k.fifo\n}\n${vi('')}`,
      /2:3: 'vrrp_notify_fifo' is not supported/,
    ],
    [
      `global_defs {\n  lvs_notify_fifo /run/k.fifo\n}\n${vi('')}`,
      /2:3: 'lvs_notify_fifo' is not supported/,
    ],
    [
      `vrrp_track_process p {\n  process nginx\n}\n${vi('')}`,
      /1:1: 'vrrp_track_process' is not supported/,
    ],
    [`net_namespace blue\n${vi('')}`, /1:1: 'net_namespace' is not supported by lbctl: .*nsenter/],
    [vi('  advert_int 0.5'), /4:14: advert_int: VRRP version 2 advertises in whole seconds/],
    [
      vi('  version 3\n  advert_int 41'),
      /5:14: advert_int: VRRP version 3 advertises every 0\.01 to 40\.95 s/,
    ],
    [
      'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 9\n  version 3\n  virtual_ipaddress_excluded {\n    10.9.9.9\n  }\n}\n',
      /has no virtual IP addresses; VRRP version 3 requires at least one/,
    ],
  ];
  for (const [text, expected] of cases) {
    const found = problems(() => parseConfigText(text, 'k.conf'));
    assert.ok(
      found.some((p) => expected.test(p)),
      `${expected} not in ${JSON.stringify(found)}`,
    );
  }
});

test('messages about a keepalived.conf name keepalived keywords, not document fields', () => {
  const found = problems(() =>
    parseConfigText(
      vi('  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2 min_ttl 9 max_ttl 3\n  }'),
      'k.conf',
    ),
  );
  assert.deepEqual(found, ['6:22: min_ttl: min_ttl 9 is greater than max_ttl 3']);
  const unicast = problems(() => parseConfigText(vi('  unicast_src_ip 10.0.0.1'), 'k.conf'));
  assert.match(
    unicast[0] ?? '',
    /^4:18: unicast_src_ip: unicast_src_ip is set but there are no unicast peers; add unicast_peer or use mcast_src_ip/,
  );
  for (const message of [...found, ...unicast])
    assert.doesNotMatch(message, /\b[a-z]+[A-Z]\w*\b/, `a document field name in '${message}'`);
});

test('a fwmark service is valid, and validate says up runs it on kernel IPVS', () => {
  const { warnings } = parseConfigText(
    'virtual_server fwmark 1 {\n  lvs_sched rr\n  lvs_method NAT\n  real_server 10.0.0.2 80 {\n    weight 1\n  }\n}\n',
    'k.conf',
  );
  assert.ok(
    warnings.some((w) =>
      /lbctl up runs this virtual server on the kernel IPVS data plane \(the XDP data plane cannot run it: fwmark services match the marks netfilter sets, and it runs before netfilter/.test(
        w.message,
      ),
    ),
    JSON.stringify(warnings),
  );
});

test('a misspelt YAML key is refused with the key that was probably meant, inside lists and checker kinds too', () => {
  const found = problems(() =>
    parseConfigText(
      'vrrpInstances:\n  - name: A\n    interface: eth0\n    virtualRouterId: 1\n    priorty: 5\n    virtualIpAddresses: [{ address: 10.0.0.1, dve: eth0 }]\nvirtualServers:\n  - address: 10.0.0.1\n    port: 80\n    realServers:\n      - address: 10.0.0.2\n        checkers:\n          - type: TCP_CHECK\n            conectTimeoutMs: 100\n',
      'c.yaml',
    ),
  );
  assert.deepEqual(found, [
    "5:5: vrrpInstances[0].priorty: unknown key 'priorty' (did you mean 'priority'?)",
    "6:47: vrrpInstances[0].virtualIpAddresses[0].dve: unknown key 'dve' (did you mean 'dev'?)",
    "14:13: virtualServers[0].realServers[0].checkers[0].conectTimeoutMs: unknown key 'conectTimeoutMs' (did you mean 'connectTimeoutMs'?)",
  ]);
});

test('convert keeps comments with their own blocks when a vrrp_script for another host is removed', () => {
  const text = `# for another host\nvrrp_script gone {\n@other  script /bin/true\n}\n# the one that stays\nvrrp_script kept {\n  script /bin/true\n}\n${vi('  track_script {\n    kept\n  }')}`;
  const mapped = readKeepalived(text, 'k.conf', new IssueList(), { configId: 'this' });
  const yaml = documentToYaml(mapped.document, mapped.comments);
  assert.match(yaml, /# the one that stays\n\s*- name: kept/);
  assert.doesNotMatch(yaml, /for another host/);
});

test('the connection-table size is set in global_defs or YAML, defaults for a 10 Gbit/s director, and is range-checked at its value', () => {
  const global = (line: string) => `global_defs {\n${line}\n}\n${vi('')}`;
  assert.equal(parseConfigText(vi(''), 'k.conf').config.global.connectionTableSize, 1_048_576);
  const { config } = parseConfigText(global('  lbctl_connection_table_size 4194304'), 'k.conf');
  assert.equal(config.global.connectionTableSize, 4_194_304);
  assert.deepEqual(
    problems(() => parseConfigText(global('  lbctl_connection_table_size 100'), 'k.conf')),
    ['2:31: lbctl_connection_table_size: must be an integer from 1024 to 16777216'],
  );
  const yaml = (size: string) =>
    `global:\n  connectionTableSize: ${size}\nvrrpInstances:\n  - name: VI_1\n    interface: eth0\n    virtualRouterId: 9\n    virtualIpAddresses:\n      - address: 10.9.9.9\n`;
  assert.equal(parseConfigText(yaml('2048'), 'c.yaml').config.global.connectionTableSize, 2048);
  assert.deepEqual(
    problems(() => parseConfigText(yaml('33554432'), 'c.yaml')),
    ['2:24: global.connectionTableSize: must be an integer from 1024 to 16777216'],
  );
});
