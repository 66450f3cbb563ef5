import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { Command } from 'commander';
import { registerConvertCommand } from '../../src/cli/commands/convert.js';
import { registerValidateCommand } from '../../src/cli/commands/validate.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { captureOutput, fixturesDir, tempDir } from './helpers.js';

afterEach(() => {
  process.exitCode = 0;
});

async function run(args: string[]) {
  const { out, io } = captureOutput();
  const program = new Command('lbctl').exitOverride();
  registerValidateCommand(program, io);
  registerConvertCommand(program, io);
  process.exitCode = 0;
  await program.parseAsync(args, { from: 'user' });
  const code = process.exitCode;
  process.exitCode = 0;
  return { ...out, code };
}

const tutorial = (name: string) => join(fixturesDir(), 'tutorials', name);

test('validate exits 0 for a valid keepalived.conf and prints warnings to stderr', async () => {
  const r = await run(['validate', tutorial('004-lb01-lvs.conf')]);
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /valid keepalived configuration \(1 vrrp instances, 1 virtual servers, \d+ warnings\)/,
  );
  assert.match(r.stderr, /^warning: .*004-lb01-lvs\.conf:22:5: 'lb_algo' is deprecated/m);
});

test('validate exits 1 and lists every error with file:line:column', async (t) => {
  const file = join(tempDir(t), 'bad.conf');
  writeFileSync(
    file,
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 0\n  priority 999\n}\n',
  );
  const r = await run(['validate', file]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`error: ${file}:3:21: virtual_router_id: must be an integer from 1 to 255`),
  );
  assert.match(
    r.stderr,
    new RegExp(`error: ${file}:4:12: priority: must be an integer from 1 to 255`),
  );
  assert.match(r.stderr, /invalid configuration \(2 errors\)/);
});

test('validate --dump prints the model with secrets redacted', async () => {
  const r = await run(['validate', '--dump', tutorial('002-proxy101.conf')]);
  assert.equal(r.code, 0);
  const dumped = JSON.parse(r.stdout);
  assert.equal(dumped.vrrpInstances[0].authentication.password, '<redacted>');
  assert.ok(!r.stdout.includes('testpass'));
});

test('validate reports a missing file as an invalid configuration', async () => {
  const r = await run(['validate', '/nonexistent/lbctl.yaml']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\/nonexistent\/lbctl\.yaml:1:1: Cannot read configuration: no such file/);
});

test('convert prints YAML that validates to the same model', async () => {
  const r = await run(['convert', tutorial('000-kpmaster.conf')]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^# lbctl configuration converted from 000-kpmaster\.conf/);
  const original = parseConfigText(
    readFileSync(tutorial('000-kpmaster.conf'), 'utf8'),
    'k.conf',
  ).config;
  assert.deepEqual(parseConfigText(r.stdout, 'out.yaml').config, original);
});

test('convert --output over an existing 0644 file replaces it with a new 0600 file', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'lbctl.yaml');
  writeFileSync(out, 'old: content\n', { mode: 0o644 });
  chmodSync(out, 0o644);
  const before = statSync(out).ino;
  assert.equal((await run(['convert', '-o', out, tutorial('002-proxy101.conf')])).code, 0);
  const after = statSync(out);
  assert.equal(after.mode & 0o777, 0o600);
  assert.notEqual(after.ino, before, 'a new file, renamed over the old one');
  assert.match(readFileSync(out, 'utf8'), /testpass/);
  assert.deepEqual(readdirSync(dir), ['lbctl.yaml'], 'no temporary file left behind');
});

test('warnings about extra arguments after auth_pass never print the password', async (t) => {
  const file = join(tempDir(t), 'pw.conf');
  writeFileSync(
    file,
    'vrrp_instance A {\n  interface eth0\n  virtual_router_id 5\n  authentication {\n    auth_type PASS\n    auth_pass S3cretPw extra\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n',
  );
  const r = await run(['validate', file]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /pw\.conf:6:24: extra arguments after 'auth_pass <redacted>' ignored/);
  assert.ok(!`${r.stdout}${r.stderr}`.includes('S3cretPw'));
  // `up` logs the same warnings the loader returns.
  const { warnings } = loadConfig(file);
  assert.ok(!JSON.stringify(warnings).includes('S3cretPw'));
});

test('convert --output writes a 0600 file and refuses invalid input', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'lbctl.yaml');
  assert.equal((await run(['convert', '-o', out, tutorial('003-server-a.conf')])).code, 0);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const again = await run(['convert', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already an lbctl YAML configuration/);

  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'vrrp_instance A {\n');
  const r = await run(['convert', bad]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /bad\.conf:1:1: block 'vrrp_instance' is not closed/);
});
