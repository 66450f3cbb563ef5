import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const moduleUrl = pathToFileURL(
  new URL('../../src/daemon/young-generation.js', import.meta.url).pathname,
).href;

/**
 * A fresh process allocates what a large apply does (many objects, a tenth of
 * them surviving for a while) and reports its young generation's largest size.
 */
async function youngGenerationAfterChurn(keepSmall: boolean): Promise<number> {
  const script = `
    const { keepYoungGenerationSmall, youngGenerationMb } = await import(${JSON.stringify(moduleUrl)});
    if (${keepSmall}) keepYoungGenerationSmall();
    let kept = [];
    let largest = 0;
    for (let i = 0; i < 2_000_000; i++) {
      const o = { i, pair: [i, i + 1], name: 'real' + i };
      if (i % 10 === 0) kept.push(o);
      if (kept.length > 20_000) kept = [];
      if (i % 10_000 === 0) largest = Math.max(largest, youngGenerationMb());
    }
    process.stdout.write(String(largest));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  return Number(stdout);
}

describe('keepYoungGenerationSmall', () => {
  it('keeps the young generation at its starting size where it would otherwise grow', async () => {
    const [grown, kept] = await Promise.all([
      youngGenerationAfterChurn(false),
      youngGenerationAfterChurn(true),
    ]);
    assert.ok(grown > 4, `without it the young generation grows (to ${grown} MiB)`);
    assert.ok(kept > 0 && kept <= 2, `with it the young generation stays at ${kept} MiB`);
  });
});
