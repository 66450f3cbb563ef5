import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import yaml from 'js-yaml';
import { z } from 'zod';
import { ConfigError, IssueList } from '../../src/config/errors.js';
import { parseConfigText, readKeepalived } from '../../src/config/load.js';
import { configDocumentSchema } from '../../src/config/schema.js';
import { documentToYaml } from '../../src/config/to-yaml.js';
import { fixturesDir } from './helpers.js';
import { mutate, prng } from './mutations.js';

const CASES = 200;

const english = z.locales.en().localeError;
const MARK = '\u0000library:';

/**
 * What zod itself would say about a document where lbctl's schema states no
 * message of its own: its default English wording.
 */
function libraryMessages(document: unknown): string[] {
  const parsed = configDocumentSchema.safeParse(document ?? {}, {
    error: (issue) => {
      const said = english(issue);
      return `${MARK}${typeof said === 'string' ? said : (said?.message ?? '')}`;
    },
  });
  if (parsed.success) return [];
  const out: string[] = [];
  const walk = (issues: readonly { message: string; code: string; errors?: unknown }[]) => {
    for (const issue of issues) {
      if (issue.message.startsWith(MARK)) out.push(issue.message.slice(MARK.length));
      if (issue.code === 'invalid_union')
        for (const branch of issue.errors as (typeof issues)[]) walk(branch);
    }
  };
  walk(parsed.error.issues);
  return out;
}

const LIBRARY_PHRASES =
  /Invalid input|Invalid option|Too small|Too big|Invalid string|Unrecognized key|, received /;

test(`no message about a configuration is in the schema library's words (${CASES} mutated files)`, () => {
  const dir = fixturesDir();
  const bases = [
    ...readdirSync(join(dir, 'tutorials')).map((f) => join(dir, 'tutorials', f)),
    join(dir, 'full-featured.conf'),
  ].flatMap((path) => {
    const text = readFileSync(path, 'utf8');
    const mapped = readKeepalived(text, path, new IssueList());
    return [
      { yaml: false, text },
      { yaml: true, text: documentToYaml(mapped.document, mapped.comments) },
    ];
  });
  const rand = prng(7);
  let compared = 0;
  for (let n = 0; n < CASES; n++) {
    const base = bases[n % bases.length] as { yaml: boolean; text: string };
    const text = mutate(base.text, rand);
    let messages: string[];
    try {
      const { warnings } = parseConfigText(text, base.yaml ? 'fuzz.yaml' : 'fuzz.conf');
      messages = warnings.map((w) => w.message);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      messages = err.issues.map((i) => i.message);
    }
    let document: unknown;
    try {
      document = base.yaml
        ? yaml.load(text)
        : readKeepalived(text, 'fuzz.conf', new IssueList()).document;
    } catch {
      document = undefined;
    }
    const theirs = document === undefined ? [] : libraryMessages(document);
    compared += theirs.length;
    for (const message of messages) {
      assert.doesNotMatch(message, LIBRARY_PHRASES, `case ${n}`);
      for (const library of theirs)
        assert.ok(!message.endsWith(`: ${library}`), `case ${n}: '${message}' is the library's`);
    }
  }
  assert.ok(compared > 20, `only ${compared} library messages to compare with`);
});

test('a sync group without instances is reported in lbctl words, in either format', () => {
  assert.throws(
    () => parseConfigText('vrrpSyncGroups:\n  - name: VG1\n', 'c.yaml'),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.issues.some((i) => i.message === 'vrrpSyncGroups[0].instances: required but not given'),
  );
});
