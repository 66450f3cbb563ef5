import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median } from '../../bench/stats.js';

test('median of an odd count is the middle value, whatever the order', () => {
  assert.equal(median([7]), 7);
  assert.equal(median([9, 1, 5]), 5);
  assert.equal(median([3, -2, 10, 4, 4]), 4);
});

test('median of an even count is the mean of the two middle values', () => {
  assert.equal(median([1, 3]), 2);
  assert.equal(median([10, 1, 4, 2]), 3);
  assert.equal(median([0.5, 0.25, 1, 0.75]), 0.625);
});

test('median sorts numerically and leaves its input alone', () => {
  const values = [100, 20, 3];
  assert.equal(median(values), 20);
  assert.deepEqual(values, [100, 20, 3]);
});

test('median of no values is an error, not NaN', () => {
  assert.throws(() => median([]), /median: no values/);
});
