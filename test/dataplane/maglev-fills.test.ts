import assert from 'node:assert/strict';
import { test } from 'node:test';
import { native } from '../../src/bpf/addon.js';
import { type MaglevBackend, maglevTable, placementIds } from '../../src/dataplane/maglev.js';
import { MaglevFills } from '../../src/dataplane/maglev-fills.js';

const SIZE = 251;
const pool = (firstId: number, weightOf: (i: number) => number = () => 1): MaglevBackend[] =>
  Array.from({ length: 6 }, (_, i) => ({
    id: firstId + i,
    key: `10.9.0.${i}|80`,
    weight: weightOf(i),
  }));

async function table(fill: ReturnType<MaglevFills['acquire']>): Promise<Uint32Array> {
  assert.ok(fill !== undefined);
  return placementIds(await fill.placement, fill.ids, SIZE);
}

test('services with the same keys and weights share one placement, each with its own ids', async () => {
  const fills = new MaglevFills();
  const a = fills.acquire(pool(1), SIZE);
  // Same backends listed in another order, other ids: the same placement.
  const b = fills.acquire(pool(100).reverse(), SIZE);
  assert.equal(fills.size, 1);
  assert.equal(a?.placement, b?.placement);
  assert.deepEqual(await table(a), maglevTable(pool(1), SIZE));
  assert.deepEqual(await table(b), maglevTable(pool(100), SIZE));
  // Another weight, another size or a drained backend: a placement of its own.
  const c = fills.acquire(
    pool(1, (i) => (i === 2 ? 3 : 1)),
    SIZE,
  );
  const d = fills.acquire(pool(1), 13);
  const e = fills.acquire(
    pool(1, (i) => (i === 0 ? 0 : 1)),
    SIZE,
  );
  assert.equal(fills.size, 4);
  assert.deepEqual(
    await table(c),
    maglevTable(
      pool(1, (i) => (i === 2 ? 3 : 1)),
      SIZE,
    ),
  );
  assert.deepEqual(
    await table(e),
    maglevTable(
      pool(1, (i) => (i === 0 ? 0 : 1)),
      SIZE,
    ),
  );
  assert.equal(
    fills.acquire(
      pool(1, () => 0),
      SIZE,
    ),
    undefined,
    'no live backend, no placement',
  );
  assert.equal(a?.shared, true);
  assert.equal(c?.shared, false);
  // Kept while a user holds it; a second release by the same user changes nothing.
  const shared = await b!.placement;
  a?.release();
  a?.release();
  assert.equal(fills.size, 4);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(shared.length, SIZE, 'still held by b: not freed');
  assert.equal(b?.shared, false, 'b is its only user now');
  assert.equal(a?.shared, false, 'released');
  b?.release();
  for (const f of [c, d, e]) f?.release();
  assert.equal(fills.size, 0);
  // The last release frees the memory at once, not at a later garbage collection.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(shared.length, 0, 'freed with its last user');
  assert.equal((await e!.placement).length, 0);
});

test('only a whole addon-made placement can be freed', async () => {
  const pooled = Buffer.from('a small pooled buffer');
  assert.throws(() => native().maglevFree(pooled), /not a placement made by maglevFill/);
  assert.equal(pooled.toString(), 'a small pooled buffer');
  const fills = new MaglevFills();
  const fill = fills.acquire(pool(1), SIZE);
  const placement = await fill!.placement;
  assert.throws(() => native().maglevFree(placement.subarray(1)), /not a placement/);
  fill!.release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(placement.length, 0);
  // Freeing twice is harmless.
  native().maglevFree(placement);
});

test('a failed placement is not kept', async () => {
  const fills = new MaglevFills();
  // Out of range for the addon: a skip must be below the table size.
  const bad = [{ id: 1, key: 'k|1', weight: 1, preference: { size: SIZE, offset: 0, skip: SIZE } }];
  const fill = fills.acquire(bad, SIZE);
  await assert.rejects(fill!.placement, /inconsistent backend arrays/);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(fills.size, 0);
  fill?.release();
  assert.equal(fills.size, 0);
});
