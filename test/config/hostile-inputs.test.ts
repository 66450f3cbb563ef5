import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ConfigIssue } from '../../src/config/errors.js';
import { runBounded } from '../support/bounded-run.js';
import { lbctlCommand } from '../support/cli.js';
import { tempDir } from './helpers.js';

/**
 * Hostile or careless configurations: each is loaded in a child process with
 * a 96 MiB heap and a 30 s timeout, and must be refused with one clear error
 * at its position. Before these defences, each of them either grew memory
 * without bound, hung, overflowed the stack or named the wrong cause.
 */
const HEAP_MIB = 96;
const TIMEOUT_MS = 30_000;

interface Outcome {
  readonly ok: boolean;
  readonly issues?: ConfigIssue[];
}

/** Runs the loader on `file` in a child; stdin stays an open pipe (as for `include /dev/stdin`). */
async function loadInChild(file: string): Promise<Outcome> {
  const result = await runBounded(
    process.execPath,
    [`--max-old-space-size=${HEAP_MIB}`, join(import.meta.dirname, 'load-in-child.js'), file],
    { timeoutMs: TIMEOUT_MS, openStdin: true },
  );
  if (result.code !== 0) {
    throw new Error(
      `loader exited ${result.code ?? result.signal} (timeout or heap limit?): ${result.stderr.slice(-2000)}`,
    );
  }
  return JSON.parse(result.stdout) as Outcome;
}

/** The ten-fold-per-level definition bomb: ~600 bytes naming 10^11 characters. */
function definitionBomb(): string {
  let text = '$A0=xxxxxxxxxx\n';
  for (let i = 1; i <= 11; i++)
    text += `$A${i}=${Array(10)
      .fill(`$A${i - 1}`)
      .join(' ')}\n`;
  return `${text}global_defs {\n  router_id $A11\n}\n`;
}

/** The same with multi-line definitions: each level has ten lines of the one below. */
function multiLineBomb(): string {
  let text = '$A0=xxxxxxxxxx\n';
  for (let i = 1; i <= 11; i++)
    text += `$A${i}=\\\n${Array(9)
      .fill(`$A${i - 1}\\\n`)
      .join('')}$A${i - 1}\n`;
  return `${text}global_defs {\n  router_id $A11\n}\n`;
}

interface Case {
  readonly name: string;
  /** Writes the files into `dir`; returns the file to load. */
  readonly setup: (dir: string) => string;
  readonly line: number;
  readonly column: number;
  readonly message: RegExp;
}

const conf = (dir: string, text: string, name = 'k.conf') => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

const cases: Case[] = [
  {
    name: 'include /dev/zero',
    setup: (dir) => conf(dir, 'global_defs {\n}\ninclude /dev/zero\n'),
    line: 3,
    column: 1,
    message:
      /^Cannot include '\/dev\/zero': only regular files can be included \(\/dev\/zero is a character device\)$/,
  },
  {
    name: 'include /dev/urandom',
    setup: (dir) => conf(dir, '  include /dev/urandom\n'),
    line: 1,
    column: 3,
    message: /^Cannot include '\/dev\/urandom': only regular files .*a character device/,
  },
  {
    name: 'include /dev/* (a glob over devices, /dev/console among them)',
    setup: (dir) => conf(dir, 'include /dev/*\n'),
    line: 1,
    column: 1,
    message: /^Cannot include '\/dev\/\*': only regular files can be included \(.* and \d+ more\)$/,
  },
  {
    name: 'include /dev/stdin while stdin is an open pipe',
    setup: (dir) => conf(dir, 'include /dev/stdin\n'),
    line: 1,
    column: 1,
    message:
      /^Cannot include '\/dev\/stdin': only regular files can be included \(.* (a pipe|a socket)\)$/,
  },
  {
    name: 'main file is a device',
    setup: () => '/dev/zero',
    line: 1,
    column: 1,
    message: /^Cannot read configuration: a character device, not a regular file$/,
  },
  {
    name: 'include of a symbolic link loop',
    setup: (dir) => {
      symlinkSync(join(dir, 'b.conf'), join(dir, 'a.conf'));
      symlinkSync(join(dir, 'a.conf'), join(dir, 'b.conf'));
      return conf(dir, '\ninclude a.conf\n', 'main.conf');
    },
    line: 2,
    column: 1,
    message: /^Cannot include '.*\/a\.conf': symbolic link loop/,
  },
  {
    name: 'include of a directory without a glob',
    setup: (dir) => {
      mkdirSync(join(dir, 'conf.d'));
      return conf(dir, 'include conf.d\n', 'main.conf');
    },
    line: 1,
    column: 1,
    message: /^Cannot include 'conf\.d': only regular files can be included \(.* is a directory\)$/,
  },
  {
    name: 'include of a file past the total size limit (a sparse 100 MiB file)',
    setup: (dir) => {
      // A sparse file: large by its size, costs nothing on disk.
      writeFileSync(join(dir, 'huge.conf'), '');
      truncateSync(join(dir, 'huge.conf'), 100 * 1024 * 1024);
      return conf(dir, `include huge.conf\n`, 'main.conf');
    },
    line: 1,
    column: 1,
    message:
      /^Cannot include '.*huge\.conf': configuration files may total at most 67108864 bytes$/,
  },
  {
    name: 'more included files than the file-count limit',
    setup: (dir) => {
      mkdirSync(join(dir, 'many'));
      for (let i = 0; i < 1100; i++) writeFileSync(join(dir, 'many', `${i}.conf`), '! empty\n');
      return conf(dir, 'include many/*.conf\n', 'main.conf');
    },
    line: 1,
    column: 1,
    message: /^Cannot include '.*': a configuration may consist of at most 1024 files$/,
  },
  {
    name: 'an include whose braces expand to 67 million patterns',
    setup: (dir) => conf(dir, `include ${dir}/${'{a,b}'.repeat(26)}\n`),
    line: 1,
    column: 1,
    message: /^Cannot include '.*': braces expand to more than 256 patterns$/,
  },
  {
    name: 'an include glob over the whole file system',
    setup: (dir) => conf(dir, 'include /*/*/*/*/*/*\n'),
    line: 1,
    column: 1,
    message:
      /^Cannot include '\/\*\/\*\/\*\/\*\/\*\/\*': the pattern matches more than 4096 paths$/,
  },
  {
    name: '$NAME definitions multiplying ten-fold per level',
    setup: (dir) => conf(dir, definitionBomb()),
    line: 14,
    column: 13,
    message: /^parameter substitution makes this line longer than 65536 characters/,
  },
  {
    name: 'multi-line $NAME definitions multiplying ten-fold per level',
    setup: (dir) => conf(dir, multiLineBomb()),
    line: 124,
    column: 1,
    message: /^parameter substitution expands the configuration past \d+ characters/,
  },
  {
    name: 'keepalived blocks nested 100,000 deep',
    setup: (dir) =>
      conf(dir, `virtual_server 10.0.0.1 80 {\n${'x {\n'.repeat(100_000)}${'}\n'.repeat(100_001)}`),
    line: 101,
    column: 3,
    message: /^blocks nest deeper than 100 levels$/,
  },
  {
    name: 'YAML flow sequences nested 10,000 deep',
    setup: (dir) =>
      conf(dir, `virtualServers: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`, 'c.yaml'),
    line: 1,
    column: 116,
    message: /^YAML nests deeper than 100 levels$/,
  },
  {
    name: 'YAML block sequences nested 10,000 deep',
    setup: (dir) => conf(dir, `virtualServers:\n${'- '.repeat(10_000)}x\n`, 'c.yaml'),
    line: 2,
    column: 201,
    message: /^YAML nests deeper than 100 levels$/,
  },
  {
    name: 'YAML mappings nested by indentation 5,000 deep',
    setup: (dir) => {
      let text = '';
      for (let i = 0; i < 5000; i++) text += `${' '.repeat(i)}k${i}:\n`;
      return conf(dir, text, 'c.yaml');
    },
    line: 101,
    column: 105,
    message: /^YAML nests deeper than 100 levels$/,
  },
  {
    name: 'an empty configuration',
    setup: (dir) => conf(dir, ''),
    line: 1,
    column: 1,
    message:
      /^the configuration defines no VRRP instance and no virtual server: there is nothing to run$/,
  },
  {
    name: 'a configuration with only global_defs',
    setup: (dir) => conf(dir, 'global_defs {\n  router_id a\n}\n'),
    line: 1,
    column: 1,
    message: /nothing to run$/,
  },
];

for (const c of cases) {
  test(`hostile input: ${c.name} → :${c.line}:${c.column}, in bounded time and memory`, async (t) => {
    const dir = tempDir(t);
    const file = c.setup(dir);
    const outcome = await loadInChild(file);
    assert.equal(outcome.ok, false, 'the configuration must be refused');
    const issues = outcome.issues ?? [];
    assert.equal(issues.length, 1, JSON.stringify(issues).slice(0, 2000));
    const first = issues[0] as ConfigIssue;
    assert.deepEqual([first.file, first.line, first.column], [file, c.line, c.column]);
    assert.match(first.message, c.message);
  });
}

test('a bounded number of problems is kept, the last saying more were dropped', async (t) => {
  const dir = tempDir(t);
  const file = conf(dir, 'include /nonexistent/lbctl.conf\n'.repeat(50_000));
  const outcome = await loadInChild(file);
  assert.equal(outcome.ok, false);
  const issues = outcome.issues ?? [];
  assert.equal(issues.length, 1001);
  assert.match(
    issues.at(-1)?.message ?? '',
    /too many errors; the ones from here on are not reported/,
  );
});

test('`up` refuses an empty configuration before taking the instance lock', async (t) => {
  const dir = tempDir(t);
  const file = conf(dir, '! nothing here\n');
  const runDir = join(dir, 'run');
  const result = await runBounded(
    process.execPath,
    [...lbctlCommand(), 'up', file, '--run-dir', runDir],
    { timeoutMs: TIMEOUT_MS },
  );
  assert.notEqual(result.code, 0);
  assert.match(result.output, /k\.conf:1:1: the configuration defines no VRRP instance/);
  assert.doesNotMatch(result.output, /lbctl is up/);
  assert.deepEqual(existsSync(runDir) ? readdirSync(runDir) : [], []);
});
