import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { fixturesDir } from './helpers.js';

const yamlService = (extra: string) =>
  `virtualServers:\n  - address: 10.0.0.1\n    port: 80\n    scheduler: rr\n${extra}    realServers:\n      - address: 10.0.0.2\n        checkers:\n          - type: TCP_CHECK\n          - type: HTTP_GET\n            urls:\n              - path: /\n          - type: DNS_CHECK\n          - type: MISC_CHECK\n            path: /bin/true\n`;

test('keepalived defaults: instance and virtual server', () => {
  const { config } = parseConfigText(
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.0.0.9\n  }\n}\nvirtual_server 10.0.0.1 80 {\n  lb_algo rr\n  persistence_timeout\n  real_server 10.0.0.2 80 {\n  }\n}\n',
    'k.conf',
  );
  const inst = config.vrrpInstances[0];
  assert.deepEqual(
    [
      inst?.state,
      inst?.priority,
      inst?.advertIntervalMs,
      inst?.version,
      inst?.preempt,
      inst?.accept,
    ],
    ['BACKUP', 100, 1000, 2, true, true],
  );
  assert.deepEqual(inst?.garp, {
    masterDelayMs: 5000,
    masterRepeat: 5,
    masterRefreshMs: 0,
    masterRefreshRepeat: 1,
    intervalMs: 0,
    naIntervalMs: 0,
  });
  assert.equal(inst?.virtualIpAddresses[0]?.prefixLength, 32);
  const vs = config.virtualServers[0];
  assert.deepEqual(
    [
      vs?.scheduler,
      vs?.lbKind,
      vs?.protocol,
      vs?.delayLoopMs,
      vs?.quorum,
      vs?.hysteresis,
      vs?.persistenceTimeoutMs,
    ],
    ['rr', 'NAT', 'udp', 60_000, 1, 0, 360_000],
  );
  assert.equal(vs?.realServers[0]?.weight, 1);
  assert.equal(config.global.mcastGroup4, '224.0.0.18');
  assert.equal(config.global.smtpConnectTimeoutMs, 30_000);
});

test('a virtual_server without protocol is UDP, as keepalived 2.2.7 makes it, with a warning at its line', () => {
  const { config, warnings } = parseConfigText(
    [
      'virtual_server_group G {', // 1
      '  10.0.0.5 80', // 2
      '}', // 3
      'virtual_server_group M {', // 4
      '  fwmark 9', // 5
      '}', // 6
      'virtual_server 10.0.0.1 80 {', // 7
      '  real_server 10.0.0.2 80 {', // 8
      '  }', // 9
      '}', // 10
      'virtual_server group G {', // 11
      '  real_server 10.0.0.2 80 {', // 12
      '  }', // 13
      '}', // 14
      'virtual_server fwmark 7 {', // 15
      '  real_server 10.0.0.2 80 {', // 16
      '  }', // 17
      '}', // 18
      'virtual_server group M {', // 19
      '  real_server 10.0.0.2 80 {', // 20
      '  }', // 21
      '}', // 22
      'virtual_server 10.0.0.3 80 {', // 23
      '  protocol TCP', // 24
      '  real_server 10.0.0.2 80 {', // 25
      '  }', // 26
      '}', // 27
    ].join('\n'),
    'k.conf',
  );
  assert.deepEqual(
    config.virtualServers.map((vs) => vs.protocol),
    ['udp', 'udp', 'tcp', 'tcp', 'tcp'],
  );
  const noProtocol = warnings.filter((w) => w.message.includes("no 'protocol' line"));
  assert.deepEqual(
    noProtocol.map((w) => `${w.line}:${w.column}`),
    ['7:1', '11:1'],
  );
  assert.match(noProtocol[0]?.message ?? '', /UDP service, as keepalived 2\.2\.7 makes it/);
  // YAML is lbctl's own format: its default stays TCP.
  assert.equal(
    parseConfigText(yamlService(''), 'c.yaml').config.virtualServers[0]?.protocol,
    'tcp',
  );
});

test('checker defaults follow keepalived: retry, delay_before_retry, connect_timeout, warmup', () => {
  const { config } = parseConfigText(yamlService('    delayLoopMs: 7000\n'), 'c.yaml');
  const [tcp, http, dns, misc] = config.virtualServers[0]?.realServers[0]?.checkers ?? [];
  assert.deepEqual(
    [
      tcp?.retry,
      tcp?.delayBeforeRetryMs,
      tcp?.type === 'TCP_CHECK' && tcp.connectTimeoutMs,
      tcp?.warmupMs,
      tcp?.delayLoopMs,
    ],
    [1, 1000, 5000, 7000, 7000],
  );
  assert.deepEqual([http?.retry, http?.delayBeforeRetryMs], [1, 3000]);
  assert.deepEqual(http?.type === 'HTTP_GET' && http.urls[0]?.statusCodes, [
    { from: 200, to: 299 },
  ]);
  assert.deepEqual([dns?.retry, dns?.delayBeforeRetryMs], [3, 7000]);
  assert.deepEqual(dns?.type === 'DNS_CHECK' && [dns.queryType, dns.name], ['SOA', '.']);
  assert.deepEqual([misc?.retry, misc?.delayBeforeRetryMs], [0, 1000]);
});

test('values set on the virtual server are inherited by real servers and checkers', () => {
  const { config } = parseConfigText(
    yamlService(
      '    lbKind: DR\n    connectTimeoutMs: 2500\n    retry: 6\n    inhibitOnFailure: true\n',
    ),
    'c.yaml',
  );
  const rs = config.virtualServers[0]?.realServers[0];
  assert.deepEqual([rs?.port, rs?.lbKind, rs?.inhibitOnFailure], [80, 'DR', true]);
  const tcp = rs?.checkers[0];
  assert.deepEqual([tcp?.type === 'TCP_CHECK' && tcp.connectTimeoutMs, tcp?.retry], [2500, 6]);
});

test('priority 255 makes the instance the address owner: it starts as MASTER', () => {
  const { config } = parseConfigText(
    'vrrpInstances:\n  - name: A\n    interface: eth0\n    virtualRouterId: 1\n    priority: 255\n    virtualIpAddresses:\n      - address: 10.0.0.1/24\n',
    'c.yaml',
  );
  assert.equal(config.vrrpInstances[0]?.state, 'MASTER');
});

test('IPv6 instances use VRRP version 3', () => {
  const { config } = parseConfigText(
    'vrrpInstances:\n  - name: A\n    interface: eth0\n    virtualRouterId: 1\n    virtualIpAddresses:\n      - address: fd00::1/64\n',
    'c.yaml',
  );
  assert.deepEqual(
    [config.vrrpInstances[0]?.family, config.vrrpInstances[0]?.version],
    ['ipv6', 3],
  );
});

test('the model is deeply frozen', () => {
  const { config } = loadConfig(join(fixturesDir(), 'full-featured.conf'));
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.virtualServers[0]?.realServers[0]?.checkers[0]));
  assert.throws(() => {
    (config.vrrpInstances as unknown as unknown[]).push({});
  }, TypeError);
});

test('the full-featured fixture maps groups, ranges, routes and every checker kind', () => {
  const { config } = loadConfig(join(fixturesDir(), 'full-featured.conf'));
  assert.deepEqual(config.virtualServerGroups[0]?.entries, [
    { kind: 'address', address: '198.51.100.10', family: 'ipv4', port: 443 },
    { kind: 'range', first: '198.51.100.20', last: '198.51.100.29', family: 'ipv4', port: 443 },
    { kind: 'range', first: '198.51.100.32', last: '198.51.100.35', family: 'ipv4', port: 443 },
    { kind: 'fwmark', fwmark: 7 },
  ]);
  const web = config.vrrpInstances[0];
  assert.deepEqual(web?.virtualRoutes[0], {
    destination: '203.0.113.0/24',
    family: 'ipv4',
    type: 'unicast',
    src: '198.51.100.10',
    via: '198.51.100.1',
    dev: 'eth0',
    table: 100,
    metric: 5,
  });
  assert.deepEqual(web?.trackScripts[1], { name: 'chk_haproxy', weight: 10, reverse: false });
  assert.equal(web?.advertIntervalMs, 500);
  assert.equal(web?.accept, false);
  const kinds = config.virtualServers.flatMap((vs) =>
    vs.realServers.flatMap((rs) => rs.checkers.map((c) => c.type)),
  );
  assert.deepEqual([...new Set(kinds)].sort(), [
    'DNS_CHECK',
    'HTTP_GET',
    'MISC_CHECK',
    'PING_CHECK',
    'SMTP_CHECK',
    'SSL_GET',
    'TCP_CHECK',
    'UDP_CHECK',
  ]);
  assert.deepEqual(config.global.connectionTimeouts, {
    tcpMs: 900_000,
    tcpFinMs: 30_000,
    udpMs: 300_000,
  });
});

test('a scheduler XDP lacks: an error with dataPlane xdp, kernel IPVS under auto', () => {
  const text = (plane: string) =>
    `global:\n  dataPlane: ${plane}\nvirtualServers:\n  - address: 10.0.0.1\n    port: 80\n    scheduler: lblc\n    realServers:\n      - address: 10.0.0.2\n`;
  assert.throws(
    () => parseConfigText(text('xdp'), 'c.yaml'),
    (err: unknown) =>
      err instanceof ConfigError &&
      /c\.yaml:6:16: .*the XDP data plane cannot run it: scheduler lblc/.test(err.message),
  );
  const { warnings } = parseConfigText(text('auto'), 'c.yaml');
  assert.match(
    warnings[0]?.message ?? '',
    /lbctl up runs this virtual server on the kernel IPVS data plane \(the XDP data plane cannot run it: scheduler lblc .*\); it needs the ip_vs kernel module/,
  );
  assert.equal(warnings[0]?.line, 6);
});
