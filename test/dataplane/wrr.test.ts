import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rrSequence, wrrSequence } from '../../src/dataplane/wrr.js';

const count = (seq: number[]) => {
  const m = new Map<number, number>();
  for (const id of seq) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
};

test('wrr interleaves like IPVS: weights 4,3,2 give the kernel sequence', () => {
  // ip_vs_wrr.c with weights a=4, b=3, c=2 yields: a a b a b c a b c
  const seq = wrrSequence(
    [
      { id: 1, weight: 4 },
      { id: 2, weight: 3 },
      { id: 3, weight: 2 },
    ],
    1000,
  );
  assert.deepEqual(seq, [1, 1, 2, 1, 2, 3, 1, 2, 3]);
});

test('wrr period matches weight proportions and skips weight 0', () => {
  const seq = wrrSequence(
    [
      { id: 1, weight: 10 },
      { id: 2, weight: 5 },
      { id: 3, weight: 0 },
    ],
    1000,
  );
  assert.equal(seq.length, 3); // gcd 5: period 2 + 1
  assert.deepEqual(
    count(seq),
    new Map([
      [1, 2],
      [2, 1],
    ]),
  );
});

test('wrr scales a too-long period down, keeping proportions', () => {
  const seq = wrrSequence(
    [
      { id: 1, weight: 60001 },
      { id: 2, weight: 30001 },
    ],
    65537,
  );
  assert.ok(seq.length <= 65537);
  const c = count(seq);
  const ratio = (c.get(1) ?? 0) / (c.get(2) ?? 1);
  assert.ok(Math.abs(ratio - 2) < 0.01, `ratio ${ratio}`);
});

test('rr lists every real with weight once, in order', () => {
  assert.deepEqual(
    rrSequence([
      { id: 5, weight: 1 },
      { id: 6, weight: 0 },
      { id: 7, weight: 9 },
    ]),
    [5, 7],
  );
  assert.deepEqual(wrrSequence([], 10), []);
});
