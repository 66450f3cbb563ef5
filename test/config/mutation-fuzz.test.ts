import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, IssueList } from '../../src/config/errors.js';
import { parseConfigText, readKeepalived } from '../../src/config/load.js';
import { documentToYaml } from '../../src/config/to-yaml.js';
import { fixturesDir } from './helpers.js';
import { mutate, prng } from './mutations.js';

const SEED = Number(process.env.LBCTL_FUZZ_SEED ?? 20240601);
const CASES = Number(process.env.LBCTL_FUZZ_CASES ?? 2000);

function bases(): { name: string; text: string }[] {
  const dir = fixturesDir();
  const confs = [
    ...readdirSync(join(dir, 'tutorials')).map((f) => join(dir, 'tutorials', f)),
    join(dir, 'full-featured.conf'),
  ];
  const out: { name: string; text: string }[] = [];
  for (const path of confs) {
    const text = readFileSync(path, 'utf8');
    out.push({ name: path, text });
    const mapped = readKeepalived(text, path, new IssueList());
    out.push({ name: `${path}.yaml`, text: documentToYaml(mapped.document, mapped.comments) });
  }
  return out;
}

test(`mutated configurations only ever fail with ConfigError (${CASES} cases, seed ${SEED})`, () => {
  const rand = prng(SEED);
  const inputs = bases();
  let rejected = 0;
  for (let n = 0; n < CASES; n++) {
    const base = inputs[n % inputs.length] as { name: string; text: string };
    const text = mutate(base.text, rand);
    try {
      parseConfigText(text, base.name.endsWith('.yaml') ? 'fuzz.yaml' : 'fuzz.conf');
    } catch (err) {
      if (err instanceof ConfigError) {
        rejected++;
        continue;
      }
      assert.fail(
        `case ${n} (seed ${SEED}, base ${base.name}) threw ${String(err)}\n--- input ---\n${text}`,
      );
    }
  }
  // Mutations that break nothing are fine, but most of them must be caught.
  assert.ok(rejected > CASES / 4, `only ${rejected} of ${CASES} mutations were rejected`);
});
