import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IssueList } from '../../src/config/errors.js';
import { loadConfig, parseConfigText, readKeepalived } from '../../src/config/load.js';
import { documentToYaml } from '../../src/config/to-yaml.js';
import { fixturesDir } from './helpers.js';

const tutorialsDir = join(fixturesDir(), 'tutorials');
const tutorials = readdirSync(tutorialsDir).filter((f) => f.endsWith('.conf'));

test('every tutorial keepalived.conf is present (both nodes of all five tutorials)', () => {
  assert.equal(tutorials.length, 14);
  for (const prefix of ['000', '001', '002', '003', '004']) {
    assert.ok(
      tutorials.filter((s) => s.startsWith(prefix)).length >= 2,
      `tutorial ${prefix} has both nodes`,
    );
  }
});

for (const file of tutorials) {
  test(`${file} validates, converts, and its YAML yields the same model`, () => {
    const path = join(tutorialsDir, file);
    const fromKeepalived = loadConfig(path);
    assert.equal(fromKeepalived.format, 'keepalived');

    const text = readFileSync(path, 'utf8');
    const mapped = readKeepalived(text, path, new IssueList());
    const yaml = documentToYaml(mapped.document, mapped.comments);
    const fromYaml = parseConfigText(yaml, `${file}.yaml`);
    assert.equal(fromYaml.format, 'yaml');
    assert.deepEqual(fromYaml.config, fromKeepalived.config);
    assert.ok(fromKeepalived.config.vrrpInstances.length > 0);
  });
}

test('tutorial 000 maps the completed virtual servers: DR, rr, two TCP-checked reals and a sorry server', () => {
  const { config } = loadConfig(join(tutorialsDir, '000-kpmaster.conf'));
  assert.equal(config.virtualServers.length, 2);
  const vs = config.virtualServers[0];
  assert.ok(vs);
  assert.deepEqual(vs.target, {
    kind: 'address',
    address: '192.168.10.100',
    family: 'ipv4',
    port: 80,
  });
  assert.equal(vs.lbKind, 'DR');
  assert.equal(vs.scheduler, 'rr');
  assert.equal(vs.delayLoopMs, 6000);
  assert.deepEqual(vs.sorryServer, {
    address: '127.0.0.1',
    family: 'ipv4',
    port: 80,
    lbKind: 'DR',
    inhibit: false,
  });
  assert.deepEqual(
    vs.realServers.map((r) => `${r.address}:${r.port}/${r.checkers[0]?.type}`),
    ['192.168.10.16:80/TCP_CHECK', '192.168.10.17:80/TCP_CHECK'],
  );
  assert.equal(config.vrrpInstances[0]?.trackScripts[0]?.name, 'chk_keepalived');
});

test('tutorial 004 ignores nb_get_retry as keepalived 2.2.7 does, and keeps persistence in milliseconds', () => {
  const { config, warnings } = loadConfig(join(tutorialsDir, '004-lb01-lvs.conf'));
  const vs = config.virtualServers[0];
  assert.equal(vs?.persistenceTimeoutMs, 50_000);
  const check = vs?.realServers[0]?.checkers[0];
  assert.equal(check?.type, 'TCP_CHECK');
  // keepalived 2.2.7 skips nb_get_retry as unknown, so TCP_CHECK's default of 1 applies.
  assert.equal(check?.retry, 1);
  assert.equal(check?.type === 'TCP_CHECK' && check.connectTimeoutMs, 8000);
  assert.ok(
    warnings.some((w) =>
      /'nb_get_retry' is not a keyword of keepalived 2\.2\.7.*use 'retry'/.test(w.message),
    ),
  );
  assert.ok(warnings.some((w) => w.message.includes("'nat_mask' is obsolete")));
});

test('convert keeps comments next to the entries they were written on', () => {
  const path = join(tutorialsDir, '002-proxy101.conf');
  const mapped = readKeepalived(readFileSync(path, 'utf8'), path, new IssueList());
  const yaml = documentToYaml(mapped.document, mapped.comments);
  assert.match(yaml, /# simple check with killall -0 .*\n\s+- name: chk_nginx/);
  assert.match(yaml, /unicastSrcIp: 192\.168\.0\.101 # 本机ip/);
  assert.match(yaml, /^# Configuration File for keepalived/m);
});
