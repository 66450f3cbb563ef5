import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { IssueList } from '../../src/config/errors.js';
import { readKeepalived } from '../../src/config/load.js';
import { realServerFastPath } from '../../src/config/real-server-fast-path.js';
import { checker, configDocumentSchema, realServerSchema } from '../../src/config/schema.js';
import { schemaIssueWording } from '../../src/config/schema-messages.js';
import { fixturesDir } from './helpers.js';
import { prng } from './mutations.js';

type Data = Record<string, unknown>;

const fast = realServerFastPath(realServerSchema, checker);

/**
 * The fast path either declines `input` or returns exactly what zod returns
 * (key order included), the input itself only when that is what zod builds;
 * true when it accepted.
 */
function assertAgrees(input: unknown, what: string): boolean {
  const out = fast(input);
  if (out === z.INVALID) return false;
  const zod = realServerSchema.safeParse(input);
  assert.ok(
    zod.success,
    `${what}: the fast path accepts what zod refuses: ${JSON.stringify(zod.error?.issues)}`,
  );
  assert.deepEqual(out, zod.data, what);
  assert.deepEqual(keyOrder(out), keyOrder(zod.data), `${what}: key order`);
  return true;
}

/** Every object's keys in order, depth first. */
function keyOrder(value: unknown): string[][] {
  if (Array.isArray(value)) return value.flatMap(keyOrder);
  if (value === null || typeof value !== 'object') return [];
  return [Object.keys(value), ...Object.values(value).flatMap(keyOrder)];
}

/** Every virtual server document of the keepalived.conf fixtures. */
function fixtureDocuments(): Data[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!/\.(md|json)$/.test(name)) files.push(path);
    }
  };
  walk(fixturesDir());
  return files.map(
    (file) =>
      readKeepalived(readFileSync(file, 'utf8'), file, new IssueList(), { configId: 'node' })
        .document as Data,
  );
}

function realsOf(document: Data): Data[] {
  const servers = (document.virtualServers ?? []) as Data[];
  return servers.flatMap((vs) => (vs.realServers ?? []) as Data[]);
}

/** Real servers the fixtures do not show: every field, each checker kind. */
const HAND_WRITTEN: Data[] = [
  {
    address: '10.0.0.2',
    port: 80,
    weight: 3,
    lbKind: 'TUN',
    tunnel: { type: 'gue', port: 6080, checksum: 'csum' },
    inhibitOnFailure: true,
    upperThreshold: 100,
    lowerThreshold: 10,
    notifyUp: { command: '/bin/up', user: 'nobody' },
    notifyDown: { command: '/bin/down' },
    virtualhost: 'www',
    connectTimeoutMs: 3000,
    retry: 2,
    delayBeforeRetryMs: 1000,
    warmupMs: 0,
    delayLoopMs: 5000,
    checkers: [
      {
        type: 'TCP_CHECK',
        connectIp: '10.0.0.3',
        connectPort: 81,
        bindTo: '10.0.0.1',
        connectTimeoutMs: 1,
        retry: 0,
        delayBeforeRetryMs: 0,
        warmupMs: 1,
        delayLoopMs: 1,
      },
      { type: 'PING_CHECK' },
      { type: 'HTTP_GET', urls: [{ path: '/', statusCodes: [200, '300-399'] }] },
      { type: 'MISC_CHECK', path: '/bin/true' },
      { type: 'UDP_CHECK', payload: 'ab' },
    ],
  },
  { address: '::1' },
  { address: '10.0.0.2', port: 80, weight: 1, checkers: [{ type: 'TCP_CHECK', retry: 2 }] },
];

/** The schema under optional/default, for its bounds. */
function innermost(schema: z.ZodType): z.ZodType {
  let at = schema;
  while (at instanceof z.ZodOptional || at instanceof z.ZodDefault) at = at.unwrap() as z.ZodType;
  return at;
}

/** Values either side of each bound a numeric field's schema declares. */
function boundaries(schema: z.ZodType | undefined): unknown[] {
  const number = schema === undefined ? undefined : innermost(schema);
  if (!(number instanceof z.ZodNumber)) return [];
  const out: number[] = [];
  for (const bound of [number.minValue, number.maxValue]) {
    if (bound === null || !Number.isFinite(bound)) continue;
    out.push(bound - 1, bound, bound + 1, bound - 0.5, bound + 0.5);
  }
  return out;
}

const ODD_VALUES: unknown[] = [
  undefined,
  null,
  true,
  false,
  '',
  'x',
  '80',
  '10.0.0.1',
  '::1',
  '10.0.0.256',
  '10.0.0.1/24',
  0,
  -0,
  1,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  [],
  [{ type: 'TCP_CHECK' }],
  {},
  { command: '/bin/x' },
  { type: 'ipip' },
  'DR',
  'NAT',
  'TUN',
  'TCP_CHECK',
  'PING_CHECK',
  'HTTP_GET',
];

const TCP_CHECK_FIELDS = Object.keys(
  (checker.options.find((o) => (o.shape.type as z.ZodLiteral).value === 'TCP_CHECK') as z.ZodObject)
    .shape,
);

test('the real server fast path accepts every valid real server of the fixtures, as zod parses it', () => {
  let reals = 0;
  for (const document of fixtureDocuments()) {
    for (const real of realsOf(document)) {
      if (!realServerSchema.safeParse(real).success) continue;
      assert.ok(assertAgrees(real, JSON.stringify(real)), `declined ${JSON.stringify(real)}`);
      reals++;
    }
  }
  assert.ok(reals > 20, `only ${reals} real servers in the fixtures`);
  for (const real of HAND_WRITTEN) assert.ok(assertAgrees(real, JSON.stringify(real)));
});

test('the real server fast path agrees with zod on every field set to odd and boundary values', () => {
  let accepted = 0;
  let declined = 0;
  const count = (agreed: boolean) => (agreed ? accepted++ : declined++);
  for (const base of HAND_WRITTEN) {
    const shape = realServerSchema.shape as Record<string, z.ZodType>;
    for (const key of [...Object.keys(shape), 'unknownKey']) {
      const without = { ...base };
      delete without[key];
      count(assertAgrees(without, `without ${key}`));
      for (const value of [...ODD_VALUES, ...boundaries(shape[key])])
        count(assertAgrees({ ...base, [key]: value }, `${key}: ${String(value)}`));
    }
    const checkers = (base.checkers ?? []) as Data[];
    for (const [index, original] of checkers.entries()) {
      const option = checker.options.find(
        (o) => (o.shape.type as z.ZodLiteral).value === original.type,
      ) as z.ZodObject;
      const shape = option.shape as Record<string, z.ZodType>;
      for (const key of [...TCP_CHECK_FIELDS, 'urls', 'unknownKey']) {
        const place = (item: Data) => ({
          ...base,
          checkers: checkers.map((c, i) => (i === index ? item : c)),
        });
        const without = { ...original };
        delete without[key];
        count(assertAgrees(place(without), `checker ${original.type} without ${key}`));
        for (const value of [...ODD_VALUES, ...boundaries(shape[key])]) {
          const what = `checker ${original.type} ${key}: ${String(value)}`;
          count(assertAgrees(place({ ...original, [key]: value }), what));
        }
      }
    }
  }
  for (const checkers of [undefined, null, {}, 'TCP_CHECK', [null], [1], [[]]])
    count(assertAgrees({ address: '10.0.0.1', checkers }, `checkers: ${String(checkers)}`));
  for (const input of [null, undefined, [], 'x', 1])
    count(assertAgrees(input, `input ${String(input)}`));
  count(assertAgrees(Object.assign(Object.create(null), { address: '::1' }), 'no prototype'));
  // Both sides of the comparison were exercised.
  assert.ok(accepted > 500, `accepted only ${accepted}`);
  assert.ok(declined > 500, `declined only ${declined}`);
});

test('the real server fast path hands on an input that is already its output, and only that', () => {
  const checkers = [{ type: 'TCP_CHECK', connectTimeoutMs: 3000, retry: 2 }];
  const real = { address: '10.0.0.2', port: 80, weight: 1, checkers };
  const out = fast(real) as Data;
  assert.equal(out, real);
  assert.equal(out.checkers, checkers);
  // Keys out of the schema's order, a weight to default or a tunnel to parse: copies.
  const shuffled = { address: '10.0.0.2', weight: 1, port: 80, checkers };
  assert.notEqual(fast(shuffled), shuffled);
  assert.deepEqual(Object.keys(fast(shuffled) as Data), ['address', 'port', 'weight', 'checkers']);
  assert.equal((fast(shuffled) as Data).checkers, checkers);
  const unweighted = { address: '10.0.0.2', checkers };
  assert.deepEqual(fast(unweighted), { address: '10.0.0.2', weight: 1, checkers });
  const tunnelled = { ...real, lbKind: 'TUN', tunnel: { type: 'ipip' } };
  assert.notEqual(fast(tunnelled), tunnelled);
  // zod's output is plain whatever the input's prototype (deepEqual compares prototypes).
  const bare = Object.assign(Object.create(null), real);
  assert.ok(assertAgrees(bare, 'real server without a prototype'));
  const bareChecker = Object.assign(Object.create(null), checkers[0]);
  assert.ok(assertAgrees({ ...real, checkers: [bareChecker] }, 'checker without a prototype'));
  class List extends Array {}
  assert.ok(assertAgrees({ ...real, checkers: List.from(checkers) }, 'a subclass of Array'));
  const reordered = [{ retry: 2, type: 'TCP_CHECK' }];
  const copied = fast({ ...real, checkers: reordered }) as Data;
  assert.notEqual(copied.checkers, reordered);
  assert.deepEqual(copied.checkers, [{ type: 'TCP_CHECK', retry: 2 }]);
  assert.deepEqual(Object.keys((copied.checkers as Data[])[0] as Data), ['type', 'retry']);
});

test('the reference parse (async) bypasses a fast path', async () => {
  // What the next test compares against must be zod's own parse.
  const lying = z.array(z.withParser(z.string(), () => 'fast'));
  assert.deepEqual(lying.safeParse(['x']).data, ['fast']);
  assert.deepEqual((await lying.safeParseAsync(['x'])).data, ['x']);
});

test('documents parse with the fast path exactly as without it, errors included', async () => {
  const rand = prng(12);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const documents = fixtureDocuments();
  // Mutated documents: a few real servers or checkers changed for the worse.
  for (let i = 0; i < 300; i++) {
    const document = structuredClone(pick(documents.filter((d) => realsOf(d).length > 0)));
    const reals = realsOf(document);
    for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
      const real = pick(reals);
      const checkers = (Array.isArray(real.checkers) ? real.checkers : []).filter(
        (c): c is Data => c !== null && typeof c === 'object',
      );
      const target = checkers.length > 0 && rand() < 0.5 ? pick(checkers) : real;
      const keys = target === real ? Object.keys(realServerSchema.shape) : TCP_CHECK_FIELDS;
      target[pick([...keys, 'unknownKey'])] = pick(ODD_VALUES);
    }
    documents.push(document);
  }
  let failed = 0;
  for (const [index, document] of documents.entries()) {
    const withFastPath = configDocumentSchema.safeParse(document, { error: schemaIssueWording });
    const zodOnly = await configDocumentSchema.safeParseAsync(document, {
      error: schemaIssueWording,
    });
    assert.equal(withFastPath.success, zodOnly.success, `document ${index}`);
    assert.deepEqual(withFastPath.data, zodOnly.data, `document ${index}`);
    assert.deepEqual(withFastPath.error?.issues, zodOnly.error?.issues, `document ${index}`);
    if (!zodOnly.success) failed++;
  }
  assert.ok(failed > 100, `only ${failed} documents had errors`);
});
