import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { YOUNG_GENERATION_FLAGS } from '../../src/daemon/young-generation.js';
import { packageRoot } from '../../src/paths.js';

const run = promisify(execFile);
const moduleUrl = pathToFileURL(join(packageRoot, 'dist/src/daemon/young-generation.js')).href;

/**
 * A fresh node started with `flags` allocates what a large apply does (many
 * objects, a tenth of them surviving a while), starts a Worker (as a reload's
 * off-thread parse does), allocates again, and reports its young
 * generation's largest size in MiB.
 */
async function youngGenerationAfterChurn(flags: readonly string[]): Promise<number> {
  const script = `
    const { youngGenerationMb } = await import(${JSON.stringify(moduleUrl)});
    const { Worker } = await import('node:worker_threads');
    let kept = [];
    let largest = 0;
    const churn = () => {
      for (let i = 0; i < 1_000_000; i++) {
        const o = { i, pair: [i, i + 1], name: 'real' + i };
        if (i % 10 === 0) kept.push(o);
        if (kept.length > 20_000) kept = [];
        if (i % 10_000 === 0) largest = Math.max(largest, youngGenerationMb());
      }
    };
    churn();
    const worker = new Worker('1', { eval: true });
    await new Promise((resolve) => worker.on('exit', resolve));
    churn();
    process.stdout.write(String(largest));
  `;
  const { stdout } = await run(process.execPath, [...flags, '--input-type=module', '-e', script]);
  return Number(stdout);
}

describe('young generation flags', () => {
  it('are the ones the launcher and the benchmarks start node with', () => {
    const shebang = readFileSync(join(packageRoot, 'bin/lbctl'), 'utf8').split('\n')[0];
    assert.equal(shebang, `#!/usr/bin/env -S node ${YOUNG_GENERATION_FLAGS.join(' ')}`);
    const scripts = (
      JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    assert.equal(scripts.bench, `node ${YOUNG_GENERATION_FLAGS.join(' ')} dist/bench/main.js`);
  });

  it('keep the young generation at 1 MiB per semi-space, a Worker started or not', async () => {
    const [grown, kept] = await Promise.all([
      youngGenerationAfterChurn([]),
      youngGenerationAfterChurn(YOUNG_GENERATION_FLAGS),
    ]);
    assert.ok(grown > 4, `without them the young generation grows (to ${grown} MiB)`);
    assert.ok(kept > 0 && kept <= 2, `with them it stays at ${kept} MiB`);
  });
});
