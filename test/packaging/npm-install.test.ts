/**
 * A real install of the npm tarball: `npm pack`, then `npm install -g` into
 * temporary prefixes, with the prebuilt addon and built from source.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/paths.js';
import { sh, version } from './support.js';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-install-'));

function doctorSaysAddonLoads(lbctl: string): void {
  const report = JSON.parse(sh(lbctl, ['doctor', '--json'])) as {
    checks: { name: string; status: string; detail: string }[];
  };
  const libbpf = report.checks.find((c) => c.name === 'libbpf');
  assert.equal(libbpf?.status, 'ok', JSON.stringify(libbpf));
  assert.match(libbpf?.detail ?? '', /native addon loaded/);
}

describe('npm tarball', () => {
  let tarball = '';
  before(() => {
    const name = sh('npm', ['pack', '--silent', '--pack-destination', scratch], {}).trim();
    tarball = join(scratch, name.split('\n').at(-1) ?? '');
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('ships compiled code, BPF objects, the prebuilt addon and their sources, not the tests', () => {
    const files = sh('tar', ['-tzf', tarball]).split('\n');
    for (const f of [
      'package/bin/lbctl',
      'package/dist/src/cli/main.js',
      'package/build/Release/lbctl_native.node',
      'package/build/Release/bpf/lb.bpf.o',
      'package/build/man/lbctl.8',
      'package/native/addon.cc',
      'package/bpf/lb.bpf.c',
      'package/binding.gyp',
      'package/packaging/lbctl.service',
    ]) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('package/dist/test/')), 'no compiled tests');
    assert.ok(!files.some((f) => f.startsWith('package/src/')), 'no TypeScript sources');
  });

  it('npm install -g gives a working lbctl on PATH with the prebuilt addon', () => {
    const prefix = join(scratch, 'prebuilt');
    sh('npm', [
      'install',
      '-g',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--prefix',
      prefix,
      tarball,
    ]);
    const lbctl = join(prefix, 'bin', 'lbctl');
    const found = sh('bash', ['-c', 'command -v lbctl'], {
      PATH: `${join(prefix, 'bin')}:/usr/bin:/bin`,
    });
    assert.equal(found.trim(), lbctl);
    assert.equal(sh(lbctl, ['--version']).trim(), version);
    doctorSaysAddonLoads(lbctl);
    const conf = join(packageRoot, 'test/fixtures/config/full-featured.conf');
    assert.match(sh(lbctl, ['validate', conf]), /valid keepalived configuration/);
  });

  it('builds the addon and BPF objects from source when the prebuilt one cannot be used', () => {
    const prefix = join(scratch, 'source');
    const log = sh(
      'npm',
      [
        'install',
        '-g',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--foreground-scripts',
        '--allow-scripts=lbctl',
        '--prefix',
        prefix,
        tarball,
      ],
      { LBCTL_BUILD_FROM_SOURCE: '1' },
    );
    assert.match(log, /lbctl: building the native addon and BPF objects from source/);
    const built = join(prefix, 'lib/node_modules/lbctl/build/Release');
    assert.ok(existsSync(join(built, 'obj.target')), 'compiled here, not the shipped binary');
    assert.ok(existsSync(join(built, 'bpf/lb.bpf.o')));
    doctorSaysAddonLoads(join(prefix, 'bin', 'lbctl'));
  });
});
