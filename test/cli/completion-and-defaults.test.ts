import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bashCompletion } from '../../src/cli/commands/completion.js';
import { DEFAULT_CONFIG_PATHS, resolveConfigPath } from '../../src/cli/default-config.js';
import { buildProgram } from '../../src/cli/main.js';
import { LbctlError } from '../../src/errors.js';

describe('default configuration file', () => {
  it('is /etc/lbctl/lbctl.yaml, else /etc/keepalived/keepalived.conf', () => {
    assert.deepEqual(DEFAULT_CONFIG_PATHS, [
      '/etc/lbctl/lbctl.yaml',
      '/etc/keepalived/keepalived.conf',
    ]);
  });

  it('takes the first that exists; a given file always wins', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lbctl-defaults-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const yaml = join(dir, 'lbctl.yaml');
    const conf = join(dir, 'keepalived.conf');
    assert.throws(
      () => resolveConfigPath(undefined, [yaml, conf]),
      (err: unknown) =>
        err instanceof LbctlError &&
        err.message ===
          `Cannot find a configuration: none of ${yaml}, ${conf} exists (give a file)`,
    );
    writeFileSync(conf, '');
    assert.equal(resolveConfigPath(undefined, [yaml, conf]), conf);
    writeFileSync(yaml, '');
    assert.equal(resolveConfigPath(undefined, [yaml, conf]), yaml);
    assert.equal(resolveConfigPath('/x.conf', [yaml, conf]), '/x.conf');
  });
});

const fullProgram = await buildProgram();

describe('bash completion', () => {
  const script = bashCompletion(fullProgram);

  /** What bash completes for the words typed so far (the last is being typed). */
  function complete(...words: string[]): string[] {
    const program = `${script}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_lbctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', program], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== '');
  }

  it('completes commands, subcommands and options from the command definitions', () => {
    assert.deepEqual(complete('lbctl', 'va'), ['validate']);
    assert.ok(complete('lbctl', '').includes('up'));
    assert.ok(complete('lbctl', '').includes('completion'));
    assert.deepEqual(complete('lbctl', 'lab', 'st'), ['status', 'stop', 'start']);
    assert.deepEqual(complete('lbctl', 'up', '--log-l'), ['--log-level']);
  });

  it('completes option choices and file names', (t) => {
    assert.deepEqual(complete('lbctl', 'up', '--log-format', ''), ['journal', 'json', 'pretty']);
    const dir = mkdtempSync(join(tmpdir(), 'lbctl-complete-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'keepalived.conf'), '');
    assert.deepEqual(complete('lbctl', 'up', join(dir, 'keep')), [join(dir, 'keepalived.conf')]);
  });
});

describe('commands loaded on demand', () => {
  const lbctl = join(import.meta.dirname, '..', '..', '..', 'bin', 'lbctl');
  const run = (...args: string[]) =>
    execFileSync(process.execPath, [lbctl, ...args], { encoding: 'utf8' });

  it('builds only the command that runs, every command otherwise, in help order', async () => {
    const names = (program: { commands: readonly { name(): string }[] }) =>
      program.commands.map((c) => c.name());
    assert.deepEqual(names(await buildProgram('validate')), ['validate']);
    const all = names(fullProgram);
    assert.deepEqual(names(await buildProgram('no-such-command')), all);
    assert.deepEqual(all, [
      'doctor',
      'counter',
      'up',
      'lab',
      'validate',
      'convert',
      'status',
      'reload',
      'real',
      'completion',
    ]);
  });

  it('keeps help, per-command help and the completion script whole', () => {
    const help = run('--help');
    for (const name of ['doctor', 'up', 'validate', 'completion'])
      assert.match(help, new RegExp(`^  ${name}\\b`, 'm'));
    assert.match(run('validate', '--help'), /^Usage: lbctl validate /m);
    assert.equal(run('completion', 'bash'), bashCompletion(fullProgram));
  });
});
