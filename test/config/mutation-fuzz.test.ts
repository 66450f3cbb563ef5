import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, IssueList } from '../../src/config/errors.js';
import { parseConfigText, readKeepalived } from '../../src/config/load.js';
import { documentToYaml } from '../../src/config/to-yaml.js';
import { fixturesDir } from './helpers.js';

/** mulberry32: small, fast, seeded, so every failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.LBCTL_FUZZ_SEED ?? 20240601);
const CASES = Number(process.env.LBCTL_FUZZ_CASES ?? 2000);

const NASTY_NUMBERS = [
  '-1',
  '0',
  '256',
  '65536',
  '4294967296',
  '99999999999999999999',
  '1e309',
  '0.0001',
  '-0',
  'NaN',
];
const NASTY_TOKENS = [
  '{',
  '}',
  '"',
  "'",
  '!',
  '#',
  '@x',
  '$X',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: keepalived's own ${NAME} syntax
  '${X}',
  '$X=1',
  '-',
  '/',
  ':',
  '::',
  '- ',
  ': ',
  '&a',
  '*a',
  '[',
  ']',
  '|',
  '>',
];

function bases(): { name: string; text: string }[] {
  const dir = fixturesDir();
  const confs = [
    ...readdirSync(join(dir, 'seeds')).map((f) => join(dir, 'seeds', f)),
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

function mutate(text: string, rand: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  // Tokens keep their separators so that rejoining reproduces the text exactly.
  const tokens = text.split(/(\s+)/);
  const at = () => Math.floor(rand() * tokens.length);
  const rounds = 1 + Math.floor(rand() * 3);
  for (let r = 0; r < rounds; r++) {
    switch (Math.floor(rand() * 8)) {
      case 0:
        tokens.splice(at(), 1);
        break;
      case 1: {
        const i = at();
        tokens.splice(i, 0, tokens[i] ?? '');
        break;
      }
      case 2: {
        const i = at();
        const j = at();
        [tokens[i], tokens[j]] = [tokens[j] ?? '', tokens[i] ?? ''];
        break;
      }
      case 3: {
        const joined = tokens.join('');
        return joined.slice(0, Math.floor(rand() * joined.length));
      }
      case 4: {
        const numeric = tokens
          .map((t, i) => (/^\d+(\.\d+)?$/.test(t) ? i : -1))
          .filter((i) => i >= 0);
        if (numeric.length > 0) tokens[pick(numeric)] = pick(NASTY_NUMBERS);
        break;
      }
      case 5: {
        const bytes = Array.from({ length: 1 + Math.floor(rand() * 8) }, () =>
          String.fromCharCode(Math.floor(rand() * 256)),
        );
        tokens.splice(at(), 0, bytes.join(''));
        break;
      }
      case 6:
        tokens.splice(at(), 0, pick(NASTY_TOKENS));
        break;
      default: {
        const i = at();
        tokens[i] = (tokens[i] ?? '').toUpperCase();
      }
    }
  }
  return tokens.join('');
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
