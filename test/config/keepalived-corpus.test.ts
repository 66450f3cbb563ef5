import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runValidate } from '../../src/cli/commands/validate.js';
import { loadConfig } from '../../src/config/load.js';
import { repoRoot } from '../../src/config/repo-root.js';
import { mapVirtualServer } from '../../src/reconcile/service-mapping.js';
import { resolveInstanceOptions } from '../../src/vrrp/options.js';
import { vrrpOptionsFromConfig } from '../../src/vrrp/system/config-options.js';
import { captureOutput, fixturesDir } from './helpers.js';

interface Outcome {
  /** `keepalived -t -f FILE`: 0 clean, 5 runs with warnings, 4 refused. */
  readonly keepalivedExit: number;
  readonly lbctl: 'valid' | 'invalid';
  readonly difference?: string;
  /** Valid, but `up` refuses part of it on this data plane; validate must say so. */
  readonly upRefuses?: string;
}

const dir = join(fixturesDir(), 'keepalived-samples');
const outcomes = JSON.parse(readFileSync(join(dir, 'outcomes.json'), 'utf8')) as Record<
  string,
  Outcome
>;
/** A config-id matching none of the samples' @id lines, the same on every machine. */
const CONFIG_ID = 'lbctl-corpus';
const keepaliveds = (exit: number) => exit === 0 || exit === 5;

test('the corpus holds every sample, each with a recorded outcome', () => {
  const samples = readdirSync(dir).filter((f) => f.startsWith('keepalived.conf.'));
  assert.ok(samples.length >= 25);
  assert.deepEqual(samples.sort(), Object.keys(outcomes).sort());
});

test('keepalived -t still gives the recorded outcome for every sample', () => {
  for (const [file, outcome] of Object.entries(outcomes)) {
    let exit = 0;
    try {
      execFileSync('keepalived', ['-t', '-i', CONFIG_ID, '-f', join(dir, file)], {
        stdio: 'ignore',
        timeout: 20_000,
      });
    } catch (err) {
      const status = (err as { status?: number | null }).status;
      assert.ok(typeof status === 'number', `keepalived -t did not run: ${String(err)}`);
      exit = status;
    }
    assert.equal(exit, outcome.keepalivedExit, file);
  }
});

const docs = readFileSync(join(repoRoot(), 'docs', 'configuration.md'), 'utf8');

for (const [file, outcome] of Object.entries(outcomes)) {
  test(`lbctl validate ${file}: ${outcome.lbctl}, as keepalived -t says${outcome.difference ? ' but for a listed difference' : ''}`, () => {
    const { out, io } = captureOutput();
    const code = runValidate(join(dir, file), { configId: CONFIG_ID }, io);
    // The same verdict as keepalived, or the opposite one for a listed difference.
    const runs = keepaliveds(outcome.keepalivedExit);
    assert.equal(outcome.lbctl === 'valid', outcome.difference === undefined ? runs : !runs);
    assert.equal(code, outcome.lbctl === 'valid' ? 0 : 1, `${file}\n${out.stderr}`);
    if (outcome.difference !== undefined || outcome.upRefuses !== undefined)
      assert.ok(docs.includes(`\`${file}\``), `docs/configuration.md does not list ${file}`);
    // Operators read keepalived's keywords and lbctl's words, never field names or a library's.
    for (const line of out.stderr.split('\n').filter((l) => l !== '')) {
      const message = line.replace(/^(warning|error): \S+:\d+:\d+: /, '');
      assert.doesNotMatch(message, /\b[a-z]+[A-Z]\w*\b/, `field name in: ${line}`);
      assert.doesNotMatch(message, /Invalid input|Invalid option|received/, line);
    }
    if (outcome.lbctl !== 'valid') return;
    // What validate accepts, up accepts too (short of the host's interfaces), or validate warned.
    const { config, warnings } = loadConfig(join(dir, file), { configId: CONFIG_ID });
    const refusals: string[] = [];
    try {
      vrrpOptionsFromConfig(config).instances.map(resolveInstanceOptions);
    } catch (err) {
      refusals.push((err as Error).message);
    }
    for (const vs of config.virtualServers) {
      try {
        mapVirtualServer(vs, config.virtualServerGroups);
      } catch (err) {
        refusals.push((err as Error).message);
      }
    }
    if (outcome.upRefuses === undefined) assert.deepEqual(refusals, [], file);
    else {
      assert.ok(refusals.length > 0, `${file}: up no longer refuses it; update outcomes.json`);
      assert.ok(
        warnings.some((w) => w.message.includes('lbctl up leaves this virtual server out')),
        `${file}: validate does not warn that up refuses it`,
      );
    }
  });
}
