import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCommandLine } from '../../src/checkers/command-line.js';
import { MiscChecker } from '../../src/checkers/misc-check.js';
import { runCheck } from '../../src/checkers/run-check.js';

describe('MISC_CHECK running real scripts', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lbctl-misc-'));
    await chmod(dir, 0o777);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function script(name: string, body: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  /** Generous: starting a script on a loaded machine is slow, and these scripts should finish. */
  function misc(path: string, extra: Partial<ConstructorParameters<typeof MiscChecker>[0]> = {}) {
    return new MiscChecker({ path, timeoutMs: 10_000, ...extra });
  }

  it('is up on exit 0 and down on exit 1', async () => {
    assert.deepEqual(await runCheck(misc(await script('ok.sh', 'exit 0'))), { ok: true });
    assert.deepEqual(await runCheck(misc(await script('down.sh', 'exit 1'))), {
      ok: false,
      reason: 'exit status 1',
    });
  });

  it('with misc_dynamic, exit 2..255 is up with weight code - 2', async () => {
    const path = await script('dyn.sh', 'exit "$1"');
    assert.deepEqual(await runCheck(misc(`${path} 12`, { dynamic: true })), {
      ok: true,
      weight: 10,
    });
    assert.deepEqual(await runCheck(misc(`${path} 2`, { dynamic: true })), { ok: true, weight: 0 });
    assert.deepEqual(await runCheck(misc(`${path} 255`, { dynamic: true })), {
      ok: true,
      weight: 253,
    });
    assert.deepEqual(await runCheck(misc(`${path} 1`, { dynamic: true })), {
      ok: false,
      reason: 'exit status 1',
    });
    assert.deepEqual(await runCheck(misc(`${path} 12`)), { ok: false, reason: 'exit status 12' });
  });

  it('passes quoted arguments without a shell', async () => {
    const out = join(dir, 'args.txt');
    const path = await script('args.sh', `printf '%s|' "$@" > "${out}"`);
    assert.deepEqual(await runCheck(misc(`${path} 'two words' "x y" plain`)), { ok: true });
    assert.equal(await readFile(out, 'utf8'), 'two words|x y|plain|');
  });

  it('kills the whole process group on misc_timeout', async () => {
    const pids = join(dir, 'pids.txt');
    const path = await script(
      'hang.sh',
      `sleep 30 & echo $! > "${pids}"; sleep 30 & echo $! >> "${pids}"; echo $$ >> "${pids}"; wait`,
    );
    const started = performance.now();
    // Long enough for a loaded machine to start the script and both children and
    // write their pids; the checks above get 10 s.
    const result = await runCheck(misc(path, { timeoutMs: 2_000 }));
    assert.deepEqual(result, { ok: false, reason: 'timeout after 2000 ms' });
    // Returned at the timeout, not when the 30 s sleeps end.
    assert.ok(performance.now() - started < 10_000);
    const listed = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
    assert.equal(listed.length, 3);
    // SIGTERM goes to the group at the timeout; give the kernel a moment to reap.
    const deadline = Date.now() + 10_000;
    while (listed.some(alive) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(listed.filter(alive), [], 'script and its children are gone');
  });

  it('reports a program that does not exist', async () => {
    assert.deepEqual(await runCheck(misc(join(dir, 'missing'))), {
      ok: false,
      reason: `cannot run ${join(dir, 'missing')}: not found`,
    });
  });

  it('never runs through a shell: shell syntax reaches the program as words', async () => {
    // Under a shell this would succeed; test(1) sees 8 words and fails instead.
    assert.deepEqual(await runCheck(misc('test "$(echo 42)" = 42 && exit 0 || exit 1')), {
      ok: false,
      reason: 'exit status 2',
    });
    // A script that wants a shell asks for one, as with keepalived.
    assert.deepEqual(await runCheck(misc(`/bin/sh -c 'test "$(echo 42)" = 42'`)), { ok: true });
  });

  it('runs as the configured user', async () => {
    const check = misc(`/bin/sh -c 'test "$(id -u)" = 65534'`, { user: { user: 'nobody' } });
    assert.deepEqual(await runCheck(check), { ok: true });
    const asRoot = misc(`/bin/sh -c 'test "$(id -u)" = 65534'`);
    assert.deepEqual(await runCheck(asRoot), { ok: false, reason: 'exit status 1' });
    const unknown = misc('/bin/true', { user: { user: 'no-such-user-lbctl' } });
    const result = await runCheck(unknown);
    assert.equal(result.ok, false);
    assert.match(result.reason ?? '', /no such user/);
  });

  it('parses command lines like keepalived', () => {
    assert.deepEqual(parseCommandLine('/bin/check  a "b c"'), {
      file: '/bin/check',
      args: ['a', 'b c'],
    });
    // Never a shell: its syntax reaches the program as plain words.
    assert.deepEqual(parseCommandLine('/bin/check | tee x'), {
      file: '/bin/check',
      args: ['|', 'tee', 'x'],
    });
    // keepalived's escapes, also inside quotes, and quotes inside a word.
    const escaped = String.raw`/bin/c a\ b "x\ty" 'q\'' \x41\101\cA pre"mid"post ""`;
    assert.deepEqual(parseCommandLine(escaped), {
      file: '/bin/c',
      args: ['a b', 'x\ty', "q'", 'AA\x01', 'premidpost', ''],
    });
    assert.throws(() => parseCommandLine('/bin/x a\\'), /a backslash ends the command/);
    assert.throws(() => parseCommandLine('  '), /command is empty/);
    assert.throws(() => parseCommandLine('/bin/x "open'), /unterminated " quote/);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
