import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IssueList } from '../../src/config/errors.js';
import { parseConfigText, readKeepalived } from '../../src/config/load.js';
import { documentToYaml } from '../../src/config/to-yaml.js';
import {
  type DocPath,
  parseYaml,
  parseYamlDocument,
  readSimpleYaml,
} from '../../src/config/yaml/parse-yaml.js';
import { fixturesDir } from './helpers.js';
import { mutate, prng } from './mutations.js';

/** Every path into `data`, plus a missing child of each container. */
function pathsOf(data: unknown, prefix: DocPath = []): DocPath[] {
  const out: DocPath[] = [prefix];
  if (Array.isArray(data)) {
    data.forEach((item, i) => {
      out.push(...pathsOf(item, [...prefix, i]));
    });
    out.push([...prefix, data.length], [...prefix, 'missing']);
  } else if (data !== null && typeof data === 'object') {
    for (const [key, value] of Object.entries(data)) out.push(...pathsOf(value, [...prefix, key]));
    out.push([...prefix, 'missing'], [...prefix, 0]);
  }
  return out;
}

/** Asserts the fast reader gives the same data and positions as the `yaml` package. */
function assertSameAsYamlPackage(text: string, name: string): void {
  const fast = parseYaml(text, name, new IssueList());
  assert.equal(fast.parser, 'js-yaml', `${name} should be read by the fast path`);
  assertFastMatchesSlow(fast, text, name);
  if (readSimpleYaml(text) !== undefined)
    assert.equal(assertSimpleMatchesSlow(text, name).unplaced, 0, `${name}: every node placed`);
}

/**
 * Asserts every position the simple reading places (from its node log) is
 * the `yaml` package's; returns how many paths it placed and left unplaced.
 */
function assertSimpleMatchesSlow(
  text: string,
  name: string,
  label = name,
): { placed: number; unplaced: number } {
  const simple = readSimpleYaml(text, name);
  assert.ok(simple, `${label} is simple`);
  const slow = parseYamlDocument(text, name, new IssueList());
  assert.deepEqual(simple.data, slow.data, label);
  let placed = 0;
  let unplaced = 0;
  for (const path of pathsOf(slow.data)) {
    for (const atKey of [false, true]) {
      const at = simple.locate(path, atKey);
      if (at === undefined) {
        unplaced++;
        continue;
      }
      placed++;
      assert.deepEqual(
        at,
        slow.locate(path, atKey),
        `${label}: logged position of ${JSON.stringify(path)}${atKey ? ' (key)' : ''}`,
      );
    }
  }
  return { placed, unplaced };
}

function assertFastMatchesSlow(
  fast: ReturnType<typeof parseYaml>,
  text: string,
  name: string,
  label = name,
): void {
  const slowIssues = new IssueList();
  const slow = parseYamlDocument(text, name, slowIssues);
  assert.deepEqual(slowIssues.errors, [], `${label} is valid YAML`);
  assert.deepEqual(slowIssues.warnings, [], label);
  assert.deepEqual(fast.data, slow.data, label);
  for (const path of pathsOf(slow.data)) {
    for (const atKey of [false, true]) {
      assert.deepEqual(
        fast.locate(path, atKey),
        slow.locate(path, atKey),
        `${label}: position of ${JSON.stringify(path)}${atKey ? ' (key)' : ''}`,
      );
    }
  }
}

test('plain scalars resolve as in the yaml package (YAML 1.2 core schema)', () => {
  const scalars = [
    '1',
    '-1',
    '+1',
    '-0',
    '00',
    '010',
    '0777',
    '0o17',
    '0o8',
    '0x1F',
    '0x',
    '0o',
    '-0x1F',
    '+0o7',
    '+-1',
    '1-2',
    '0b101',
    '1_000',
    '99999999999999999999',
    '1e3',
    '1.5e-3',
    '1E+2',
    '.5',
    '+.5',
    '5.',
    '1.0',
    '.inf',
    '-.Inf',
    '+.INF',
    '.nan',
    '.NaN',
    'NaN',
    'inf',
    'true',
    'True',
    'TRUE',
    'tRue',
    'false',
    'yes',
    'no',
    'on',
    'off',
    'y',
    'n',
    'null',
    'Null',
    'NULL',
    'nUll',
    '~',
    '2001-12-14',
    '2001-12-14t21:59:43.10-05:00',
    '1:20',
    '12:30:00',
    '"1"',
    "'true'",
    '"~"',
    '=',
    '10.0.0.1',
    '1.2e3.4',
    '.1.2',
    '10.0.0.1/24',
    'fd00::1',
    '"a\\tb\\u00e9"',
    "'it''s'",
  ];
  const text = scalars.map((s, i) => `k${i}: ${s}\n`).join('');
  assertSameAsYamlPackage(`${text}list:\n${scalars.map((s) => `  - ${s}\n`).join('')}`, 's.yaml');
});

test('node positions match the yaml package on hand-written layouts', () => {
  const docs: Record<string, string> = {
    'comments-and-nulls.yaml':
      '# header\n\n---\n# before\nglobal:   # trailing\n  routerId:\n  empty: ~\n  # between\n  pinDir:    /x   # after\nvrrpInstances:\n\n  - name: VI_1\n    interface: eth0\n',
    'flow.yaml': 'a: [1, 2, {b: c}]\nd: {e: [f, g], h: i}\nj: []\nk: {}\n',
    'nested-sequences.yaml': 'a:\n- - x\n  - y\n-\n  - z\n- name: n\n  v: 1\n',
    'scalars.yaml':
      'a: |\n  line one\n  line two\nb: >-\n  folded\n  text\n"quoted key": \'v\'\nc: "multi\n  line"\nd: plain\n  continued\n',
    'crlf.yaml': 'global:\r\n  routerId: r1\r\nlist:\r\n  - 1\r\n  - two\r\n',
    'top-level-sequence.yaml': '- a\n- b: 1\n',
    'scalar-document.yaml': 'just text\n',
    'no-trailing-newline.yaml': 'a:\n  b: 1',
    'indentless.yaml': 'a:\n- 1\n- 2\nb:\n    deep:\n        deeper: [x]\n',
    'empty-collections-below-key.yaml': 'a:\n  []\nb:\n  {}\nc:\n  - []\n  - {}\nd: 1\n',
  };
  for (const [name, text] of Object.entries(docs)) assertSameAsYamlPackage(text, name);
});

test('node positions match the yaml package on every converted fixture', () => {
  const dir = fixturesDir();
  const confs = [
    ...readdirSync(join(dir, 'tutorials')).map((f) => join(dir, 'tutorials', f)),
    join(dir, 'full-featured.conf'),
  ];
  for (const path of confs) {
    const mapped = readKeepalived(readFileSync(path, 'utf8'), path, new IssueList());
    assertSameAsYamlPackage(documentToYaml(mapped.document, mapped.comments), `${path}.yaml`);
  }
});

test('mutated documents read by the fast path match the yaml package exactly', () => {
  const dir = fixturesDir();
  const bases = [
    ...readdirSync(join(dir, 'tutorials')).map((f) => join(dir, 'tutorials', f)),
    join(dir, 'full-featured.conf'),
  ].map((path) => {
    const mapped = readKeepalived(readFileSync(path, 'utf8'), path, new IssueList());
    return documentToYaml(mapped.document, mapped.comments);
  });
  const rand = prng(7);
  let fastCount = 0;
  let simpleCount = 0;
  let placedCount = 0;
  let unplacedCount = 0;
  for (let n = 0; n < 600; n++) {
    const text = mutate(bases[n % bases.length] as string, rand);
    const simple = readSimpleYaml(text);
    if (simple !== undefined) {
      simpleCount++;
      const issues = new IssueList();
      const slow = parseYamlDocument(text, 'fuzz.yaml', issues);
      assert.deepEqual([issues.errors, issues.warnings], [[], []], `case ${n} is valid:\n${text}`);
      assert.deepEqual(simple.data, slow.data, `case ${n}:\n${text}`);
      const counts = assertSimpleMatchesSlow(text, 'fuzz.yaml', `case ${n}:\n${text}`);
      placedCount += counts.placed;
      unplacedCount += counts.unplaced;
    }
    const fast = parseYaml(text, 'fuzz.yaml', new IssueList());
    if (fast.parser !== 'js-yaml') continue;
    fastCount++;
    assertFastMatchesSlow(fast, text, 'fuzz.yaml', `case ${n}:\n${text}`);
  }
  // Most mutations leave a plain document; a vacuous run would prove nothing.
  assert.ok(fastCount > 200, `only ${fastCount} mutated documents took the fast path`);
  assert.ok(simpleCount > 100, `only ${simpleCount} mutated documents were simple`);
  // The log places nearly every node of a simple document; the rest fall back.
  assert.ok(
    unplacedCount * 100 < placedCount,
    `${unplacedCount} of ${placedCount + unplacedCount} nodes left unplaced`,
  );
});

test('only simple documents are read without positions', () => {
  for (const text of ['a: 1\n', 'a:\n  - b: "x # y"\n', "c: 'q'\nd: []\ne: {}\n", '# c\n'])
    assert.ok(readSimpleYaml(text), JSON.stringify(text));
  for (const text of [
    'a: &x 1\n',
    'a: *x\n',
    'a: !!str 1\n',
    '? a\n: 1\n',
    '%YAML 1.2\n---\na: 1\n',
    'a: [1]\n',
    'a: {b: 1}\n',
    'a: "x"# c\n',
    'a: 1\r\n',
    '\ufeffa: 1\n',
  ])
    assert.equal(readSimpleYaml(text), undefined, JSON.stringify(text));
});

test('a key JavaScript orders first is not placed from the log, and the report falls back', () => {
  const text =
    'virtualServers:\n  - address: 10.0.0.1\n    port: 80\n    scheduler: rr\n    "200": x\n';
  const simple = readSimpleYaml(text, 'k.yaml');
  assert.ok(simple);
  assert.equal(simple.locate(['virtualServers', 0, 'port'], false), undefined);
  assert.throws(
    () => parseConfigText(text, 'k.yaml'),
    (err: Error & { issues?: { line: number; column: number; message: string }[] }) => {
      assert.deepEqual(
        err.issues?.map((i) => `${i.line}:${i.column} ${i.message}`),
        ["5:5 virtualServers[0].200: unknown key '200'"],
      );
      return true;
    },
  );
});

test('a simple configuration with warnings is read once, with positions for them', () => {
  const text = 'virtualServers:\n  - address: 10.0.0.1\n    port: 80\n    scheduler: rr\n';
  assert.ok(readSimpleYaml(text));
  const { warnings } = parseConfigText(text, 'w.yaml');
  assert.deepEqual(
    warnings.map((w) => `${w.line}:${w.column} ${w.message}`),
    ['2:5 virtualServers[0].realServers: virtual server 10.0.0.1:80 has no real servers'],
  );
});

test('anchors and aliases on values take the fast path, with the positions of the yaml package', () => {
  const docs: Record<string, string> = {
    'scalar.yaml': 'a: &x 1\nb: *x\n',
    'flow.yaml': 'base: &b {port: 80}\nother: *b\n',
    'block.yaml':
      'a: &m   # shared\n  b: 1\n  c: [2, 3]\nd: *m\ne:\n  - &s\n    f: g\n  - *s\n  - h: *s\n',
    'checkers.yaml':
      'virtualServers:\n  - address: 10.0.0.1\n    port: 80\n    realServers:\n      - address: 10.0.1.1\n        checkers: &tcp\n          - type: TCP_CHECK\n            retry: 2\n      - address: 10.0.1.2\n        checkers: *tcp\n',
    'most-aliases.yaml': `a: &a [1]\n${Array.from({ length: 99 }, (_, i) => `b${i}: *a\n`).join('')}`,
  };
  for (const [name, text] of Object.entries(docs)) assertSameAsYamlPackage(text, name);
});

test('anchors beyond the alias limit, or on keys, are left to the yaml package', () => {
  const docs = [
    // One alias more than the yaml package allows per anchor.
    `a: &a [1]\n${Array.from({ length: 100 }, (_, i) => `b${i}: *a\n`).join('')}`,
    // An alias of a node that holds aliases multiplies the expansion.
    'a: &a [1]\nb: &b [*a, *a]\nc: *b\n',
    '&k a: 1\n',
    'a: 1\n*k : 2\n',
  ];
  for (const text of docs) {
    const parsed = parseYaml(text, 'x.yaml', new IssueList());
    assert.equal(parsed.parser, 'yaml', JSON.stringify(text));
  }
});

test('documents with tags, directives or a BOM are read by the yaml package', () => {
  const docs = ['a: !!str 1\n', '%YAML 1.2\n---\na: 1\n', '\ufeffa: 1\n', 'a: [1,\n2]\n'];
  for (const text of docs) {
    const parsed = parseYaml(text, 'x.yaml', new IssueList());
    assert.equal(parsed.parser, 'yaml', JSON.stringify(text));
    assert.deepEqual(parsed.data, parseYamlDocument(text, 'x.yaml', new IssueList()).data);
  }
});

test('YAML 1.1 directive keeps the yaml package semantics (yes is a boolean there)', () => {
  const parsed = parseYaml('%YAML 1.1\n---\na: yes\n', 'x.yaml', new IssueList());
  assert.deepEqual(parsed.data, { a: true });
});

test('syntax errors and duplicate keys are reported by the yaml package with positions', () => {
  const issues = new IssueList();
  parseYaml('a: 1\nb: 2\na: 3\n', 'dup.yaml', issues);
  assert.equal(issues.errors.length, 1);
  assert.deepEqual([issues.errors[0]?.line, issues.errors[0]?.column], [3, 1]);
  assert.match(issues.errors[0]?.message ?? '', /Map keys must be unique/);
});

test('an alias bomb is refused, not expanded', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) {
    const prev = String.fromCharCode(97 + i);
    const next = String.fromCharCode(98 + i);
    lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(', ')}]`);
  }
  assert.throws(
    () => parseConfigText(`${lines.join('\n')}\n`, 'bomb.yaml'),
    /Cannot read YAML: Excessive alias count/,
  );
});

test('an alias inside the node it names is refused at the alias, not walked forever', () => {
  for (const text of [
    'vrrpInstances: &q\n  - name: VI_1\n    state: *q\n',
    'virtualServers: &v\n  - address: 10.0.0.1\n    port: 80\n    realServers: *v\n',
  ]) {
    assert.equal(parseYaml(text, 'c.yaml', new IssueList()).parser, 'yaml');
    assert.throws(
      () => parseConfigText(text, 'cycle.yaml'),
      (err: Error & { issues?: { line: number; message: string }[] }) =>
        err.issues?.some((i) =>
          /^alias \*[qv] refers to a node that contains it$/.test(i.message),
        ) === true,
    );
  }
});

test('validation errors in a fast-path document point at the value and at unknown keys', () => {
  const text =
    'vrrpInstances:\n  - name: VI_1   # main\n    interface: eth0\n    virtualRouterId: 300\n    priorty: 100\n';
  assert.equal(parseYaml(text, 'c.yaml', new IssueList()).parser, 'js-yaml');
  assert.throws(
    () => parseConfigText(text, 'c.yaml'),
    (err: Error & { issues?: { line: number; column: number; message: string }[] }) => {
      assert.deepEqual(
        err.issues?.map((i) => `${i.line}:${i.column} ${i.message}`),
        [
          '4:22 vrrpInstances[0].virtualRouterId: must be an integer from 1 to 255',
          "5:5 vrrpInstances[0].priorty: unknown key 'priorty' (did you mean 'priority'?)",
        ],
      );
      return true;
    },
  );
});
