import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { tempDir } from './helpers.js';

/** A minimal valid instance; `body` starts on line 4. */
const vi = (body: string) =>
  `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 9\n${body}\n  virtual_ipaddress {\n    10.9.9.9\n  }\n}\n`;

test('braces may open on the next line, and one-line blocks work', () => {
  const { config } = parseConfigText(
    'vrrp_instance VI_1\n{\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress { 10.0.0.1/24 }\n}\n',
    'k.conf',
  );
  assert.equal(config.vrrpInstances[0]?.virtualIpAddresses[0]?.address, '10.0.0.1');
});

test('# and ! comments end a line anywhere outside quotes', () => {
  const { config } = parseConfigText(
    `! header\n${vi('  priority 120 # trailing\n  notify_master "/bin/echo #not-a-comment" ! comment')}`,
    'k.conf',
  );
  const inst = config.vrrpInstances[0];
  assert.equal(inst?.priority, 120);
  assert.equal(inst?.notify.master?.command, '/bin/echo #not-a-comment');
});

test('@id lines apply only on the matching config-id; @^id on all others', () => {
  const text = vi('  @main priority 200\n  @backup priority 100\n  @^main nopreempt');
  const main = parseConfigText(text, 'k.conf', { configId: 'main' }).config.vrrpInstances[0];
  const backup = parseConfigText(text, 'k.conf', { configId: 'backup' }).config.vrrpInstances[0];
  assert.deepEqual([main?.priority, main?.preempt], [200, true]);
  assert.deepEqual([backup?.priority, backup?.preempt], [100, false]);
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
test('$NAME definitions substitute $NAME and ${NAME}, recursively at use time', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
  const text = `$BASE=10.2.\${SUB}\n$SUB=0\n$PRIO=150\n${vi('  priority $PRIO\n  virtual_ipaddress {\n    ${BASE}.100/32\n  }')}`;
  const inst = parseConfigText(text, 'k.conf').config.vrrpInstances[0];
  assert.equal(inst?.priority, 150);
  assert.equal(inst?.virtualIpAddresses[0]?.address, '10.2.0.100');
});

test('multi-line definitions expand to several lines; conditionals inside them still apply', () => {
  const text = [
    '$INST= \\',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
    'vrrp_instance VI_${NUM} { \\',
    '  interface eth0 \\',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
    '  virtual_router_id ${NUM} \\',
    '  @high priority 130 \\',
    '  virtual_ipaddress { \\',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
    '    10.0.${NUM}.254/24 \\',
    '  } \\',
    '}',
    '$NUM=1',
    '$INST',
    '$NUM=2',
    '$INST',
  ].join('\n');
  const { config } = parseConfigText(text, 'k.conf', { configId: 'high' });
  assert.deepEqual(
    config.vrrpInstances.map((i) => [
      i.name,
      i.virtualRouterId,
      i.priority,
      i.virtualIpAddresses[0]?.address,
    ]),
    [
      ['VI_1', 1, 130, '10.0.1.254'],
      ['VI_2', 2, 130, '10.0.2.254'],
    ],
  );
});

test('undefined parameters are left as written', () => {
  const { config } = parseConfigText(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
    'vrrp_script s {\n  script "/bin/check ${UNDEFINED} $HOME"\n}\n',
    'k.conf',
  );
  // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
  assert.equal(config.vrrpScripts[0]?.script, '/bin/check ${UNDEFINED} $HOME');
});

test('include takes globs and braces relative to the including file, in sorted order', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'extra'));
  writeFileSync(
    join(dir, 'keepalived.conf'),
    'include conf.d/*.conf\ninclude {extra,missing}/vs.conf\n',
  );
  writeFileSync(
    join(dir, 'conf.d', '20-b.conf'),
    vi('').replace('VI_1', 'VI_B').replace(' 9', ' 20'),
  );
  writeFileSync(
    join(dir, 'conf.d', '10-a.conf'),
    vi('').replace('VI_1', 'VI_A').replace(' 9', ' 10'),
  );
  writeFileSync(join(dir, 'conf.d', 'ignored.txt'), 'garbage {');
  writeFileSync(
    join(dir, 'extra', 'vs.conf'),
    'virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  real_server 10.0.0.2 80 {\n  }\n}\n',
  );
  const { config } = loadConfig(join(dir, 'keepalived.conf'));
  assert.deepEqual(
    config.vrrpInstances.map((i) => i.name),
    ['VI_A', 'VI_B'],
  );
  assert.equal(config.virtualServers.length, 1);
});

test('errors inside included files name that file and line', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'main.conf'), 'global_defs {\n}\ninclude sub.conf\n');
  writeFileSync(
    join(dir, 'sub.conf'),
    '\n\nvrrp_instance X {\n  interface eth0\n  virtual_router_id 999\n}\n',
  );
  assert.throws(
    () => loadConfig(join(dir, 'main.conf')),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.issues.length === 1 &&
      err.issues[0]?.file === join(dir, 'sub.conf') &&
      err.issues[0]?.line === 5 &&
      err.issues[0]?.column === 21,
  );
});

test('a glob matching nothing is only a warning', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'main.conf'), `include conf.d/*.conf\n${vi('')}`);
  const { warnings } = loadConfig(join(dir, 'main.conf'));
  assert.deepEqual(
    warnings.map((w) => [w.line, w.message]),
    [[1, "include pattern 'conf.d/*.conf' matches no files"]],
  );
});

test('unknown keywords are warned with file:line and skipped, or rejected when strict', () => {
  const text = vi('  frobnicate 3');
  const { warnings } = parseConfigText(text, 'k.conf');
  assert.deepEqual(
    warnings.map((w) => `${w.file}:${w.line}:${w.column}: ${w.message}`),
    ["k.conf:4:3: unknown keyword 'frobnicate' in vrrp_instance VI_1; ignored"],
  );
  assert.throws(() => parseConfigText(text, 'k.conf', { strict: true }), ConfigError);
});

test('deprecated spellings are accepted with a warning naming the replacement; nb_get_retry is ignored', () => {
  const { config, warnings } = parseConfigText(
    'virtual_server 10.0.0.1 80 {\n  lb_algo wrr\n  lb_kind DR\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n      nb_get_retry 4\n    }\n  }\n  protocol TCP\n}\n',
    'k.conf',
  );
  const vs = config.virtualServers[0];
  assert.deepEqual(
    [vs?.scheduler, vs?.lbKind, vs?.realServers[0]?.checkers[0]?.retry],
    ['wrr', 'DR', 1],
  );
  assert.match(warnings[2]?.message ?? '', /keepalived 2\.2\.7, which ignores it/);
  assert.deepEqual(
    warnings.map((w) => w.line),
    [2, 3, 6],
  );
});

test('format is detected by content, whatever the extension says', () => {
  assert.equal(parseConfigText(vi(''), 'config.yaml').format, 'keepalived');
  assert.equal(
    parseConfigText(
      'vrrpInstances:\n  - name: A\n    interface: eth0\n    virtualRouterId: 1\n',
      'keepalived.conf',
    ).format,
    'yaml',
  );
});
