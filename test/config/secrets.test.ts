import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { REDACTED, redactConfig } from '../../src/config/redact.js';
import { fixturesDir } from './helpers.js';

test('redactConfig hides VRRP passwords and the SSL password and key', () => {
  const { config } = loadConfig(join(fixturesDir(), 'full-featured.conf'));
  const tutorial = loadConfig(join(fixturesDir(), 'tutorials', '002-proxy101.conf')).config;
  const text = JSON.stringify([redactConfig(config), redactConfig(tutorial)]);
  assert.ok(!text.includes('sslsecret'));
  assert.ok(!text.includes('/etc/ssl/client.key'));
  assert.ok(!text.includes('testpass'));
  assert.equal(redactConfig(tutorial).vrrpInstances[0]?.authentication?.password, REDACTED);
  assert.equal(
    tutorial.vrrpInstances[0]?.authentication?.password,
    'testpass',
    'the original is unchanged',
  );
});

test('errors and warnings about a password never echo it', () => {
  const secret = 'hunter2-very-long-secret';
  const base = `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  authentication {\n    auth_type PASS\n    auth_pass ${secret}\n  }\n`;
  const { warnings } = parseConfigText(
    `${base}  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n`,
    'k.conf',
  );
  assert.match(warnings[0]?.message ?? '', /only the first 8 characters/);
  assert.ok(!JSON.stringify(warnings).includes(secret));
  // keepalived ignores authentication on VRRPv3 with a warning; so does lbctl, without echoing it.
  const v3 = parseConfigText(
    `${base}  version 3\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n`,
    'k.conf',
  );
  assert.equal(v3.config.vrrpInstances[0]?.authentication, undefined);
  assert.ok(
    v3.warnings.some((w) =>
      w.message.includes('VRRP version 3 does not support authentication. Ignoring.'),
    ),
  );
  assert.ok(!JSON.stringify(v3.warnings).includes(secret));
  // The YAML format is lbctl's own and stays strict: an error that names no secret.
  try {
    parseConfigText(
      `vrrpInstances:\n  - name: A\n    interface: eth0\n    virtualRouterId: 1\n    version: 3\n    authentication: { type: PASS, password: ${secret} }\n    virtualIpAddresses: [{ address: 10.0.0.1 }]\n`,
      'k.yaml',
    );
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /version 3 has no authentication/);
    assert.ok(!err.message.includes(secret));
  }
});
