import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { registerUpCommand } from '../../src/cli/commands/up.js';
import { ConfigError, type ConfigIssue } from '../../src/config/errors.js';
import { checkInterfaces } from '../../src/config/interface-check.js';
import { parseConfigText } from '../../src/config/load.js';
import { RouteNetlink } from '../../src/netlink/rtnetlink.js';
import { tempDir } from './helpers.js';

/** Names every kind of interface reference; line numbers matter to the assertions below. */
const KEEPALIVED = `vrrp_sync_group G {
    group {
        VI_1
    }
    track_interface {
        sync9
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 5
    track_interface {
        eth1 weight 10
    }
    virtual_ipaddress {
        10.0.0.1/24 dev vip9
    }
    virtual_routes {
        192.168.9.0/24 via 10.0.0.254 dev route9
    }
}
`;

const YAML = `vrrpInstances:
  - name: VI_1
    interface: eth7
    virtualRouterId: 5
    virtualIpAddresses:
      - address: 10.0.0.1/24
        dev: eth0
`;

function rejected(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected the configuration to be rejected');
}

test('checkInterfaces names every missing interface with its document path', () => {
  const { config } = parseConfigText(KEEPALIVED, 'k.conf');
  assert.deepEqual(checkInterfaces(config, ['lo', 'eth0', 'eth1']), [
    {
      path: ['vrrpInstances', 0, 'virtualIpAddresses', 0, 'dev'],
      message:
        "interface 'vip9' does not exist on this host (dev of 10.0.0.1 in vrrp instance 'VI_1')",
    },
    {
      path: ['vrrpInstances', 0, 'virtualRoutes', 0, 'dev'],
      message:
        "interface 'route9' does not exist on this host (dev of route 192.168.9.0/24 in vrrp instance 'VI_1')",
    },
    {
      path: ['vrrpSyncGroups', 0, 'trackInterfaces', 0, 'name'],
      message: "interface 'sync9' does not exist on this host (tracked by sync group 'G')",
    },
  ]);
  assert.deepEqual(checkInterfaces(config, ['eth0', 'eth1', 'vip9', 'route9', 'sync9']), []);
  assert.equal(checkInterfaces(config, []).length, 5);
});

test('without the host interfaces (validate) interfaces are not checked', () => {
  assert.doesNotThrow(() => parseConfigText(KEEPALIVED, 'k.conf'));
  assert.doesNotThrow(() => parseConfigText(YAML, 'c.yaml'));
});

test('keepalived.conf: missing interfaces are errors at the line and column that name them', () => {
  const issues = rejected(() => parseConfigText(KEEPALIVED, 'k.conf', { existingInterfaces: [] }));
  assert.deepEqual(
    issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.message}`),
    [
      "k.conf:6:9: track_interface: interface 'sync9' does not exist on this host (tracked by sync group 'G')",
      "k.conf:10:15: interface: interface 'eth0' does not exist on this host (interface of vrrp instance 'VI_1')",
      "k.conf:13:9: track_interface: interface 'eth1' does not exist on this host (tracked by vrrp instance 'VI_1')",
      "k.conf:16:25: dev: interface 'vip9' does not exist on this host (dev of 10.0.0.1 in vrrp instance 'VI_1')",
      "k.conf:19:43: dev: interface 'route9' does not exist on this host (dev of route 192.168.9.0/24 in vrrp instance 'VI_1')",
    ],
  );
});

test('YAML: missing interfaces are errors at their values, with the document path', () => {
  const issues = rejected(() => parseConfigText(YAML, 'c.yaml', { existingInterfaces: ['eth0'] }));
  assert.deepEqual(
    issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.message}`),
    [
      "c.yaml:3:16: vrrpInstances[0].interface: interface 'eth7' does not exist on this host (interface of vrrp instance 'VI_1')",
    ],
  );
});

test("the host's own interfaces (listed over rtnetlink) satisfy the check", async () => {
  const netlink = new RouteNetlink();
  const links = await netlink.listLinks().finally(() => netlink.close());
  const names = links.map((l) => l.name);
  assert.ok(names.includes('lo'));
  const text = 'vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 5\n}\n';
  assert.equal(
    parseConfigText(text, 'k.conf', { existingInterfaces: names }).config.vrrpInstances[0]
      ?.interface,
    'lo',
  );
  const missing = text.replace('interface lo', 'interface lbctl-none0');
  const issues = rejected(() => parseConfigText(missing, 'k.conf', { existingInterfaces: names }));
  assert.deepEqual(
    issues.map((i) => [i.line, i.column]),
    [[2, 15]],
  );
});

test('lbctl up refuses a configuration naming a missing interface before anything starts', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'keepalived.conf');
  const runDir = join(dir, 'run');
  writeFileSync(
    file,
    'vrrp_instance VI_1 {\n    interface lbctl-none0\n    virtual_router_id 5\n}\n',
  );
  const program = new Command('lbctl').exitOverride();
  registerUpCommand(program);
  await assert.rejects(
    program.parseAsync(['up', file, '--run-dir', runDir], { from: 'user' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        new RegExp(
          `^Cannot load configuration: 1 problem\\n  ${file}:2:15: interface: interface 'lbctl-none0' does not exist on this host`,
        ),
      );
      return true;
    },
  );
  // Nothing started: the instance lock (its pid file) was never taken.
  assert.deepEqual(readdirSync(dir), ['keepalived.conf']);
});
