import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fileTimes, summaryCount } from './vm.js';

/**
 * The VM tier's guests run their test files through one-process-runner.ts
 * with the file-times reporter: the files must share the process (what one
 * loads, the next finds), run in the order given, and a failure must name
 * its file in the reporter's table, where debian-kernel-guest.ts reads it.
 */
const runner = fileURLToPath(new URL('./one-process-runner.js', import.meta.url));
const reporter = fileURLToPath(new URL('./file-times-reporter.js', import.meta.url));

const FILES = {
  'shared.mjs': 'export const loads = { count: 0 };\n',
  'first.test.mjs': `import { it } from 'node:test';
import { loads } from './shared.mjs';
it('first loads', () => { loads.count++; });
`,
  'second.test.mjs': `import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loads } from './shared.mjs';
it('second finds what the first loaded', () => { assert.equal(loads.count, 1); });
it('second fails', () => { throw new Error('the expected failure'); });
`,
  'broken.test.mjs': 'import { nothing } from "./shared.mjs";\n',
  'third.test.mjs': `import { it } from 'node:test';
it('third runs after a failure', () => {});
`,
};

function runFiles(
  cwd: string,
  files: readonly string[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${reporter}`,
        '--test-reporter-destination=stdout',
        runner,
        ...files,
      ],
      // Without the parent runner's NODE_TEST_CONTEXT: the child reports as a
      // run of its own would, not in the protocol a --test parent reads.
      { cwd, timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
      (err, stdout) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, output: stdout });
      },
    );
  });
}

describe('test files in one process', () => {
  it('shares the process, keeps the order, and names the files that failed', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'lbctl-one-process-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [name, text] of Object.entries(FILES)) await writeFile(join(dir, name), text);

    const { code, output } = await runFiles(dir, [
      'first.test.mjs',
      'second.test.mjs',
      'broken.test.mjs',
      'third.test.mjs',
    ]);

    assert.equal(code, 1, output);
    const times = fileTimes(output);
    assert.deepEqual(
      times.started.map((s) => s.file),
      ['first.test.mjs', 'second.test.mjs', relative(dir, runner), 'third.test.mjs'],
      output,
    );
    // A file that does not import fails under its own name (as a test of the
    // runner's: it has no test of its own), and the files after it still run.
    assert.match(output, /✖ broken\.test\.mjs loads/);
    assert.deepEqual(
      times.failed.sort(),
      ['second.test.mjs', relative(dir, runner)].sort(),
      output,
    );
    assert.equal(summaryCount(output, 'pass'), 3, output);
    assert.equal(summaryCount(output, 'fail'), 2, output);
  });

  it('refuses to run without a file', async () => {
    const { code, output } = await runFiles(tmpdir(), []);
    assert.equal(code, 2, output);
  });
});
