import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { watchMajorGcs } from '../../bench/gc-watch.js';
import { settleHeap } from '../../bench/settle-heap.js';

test('a full collection requested inside a watch is counted with its pause', async () => {
  const stop = watchMajorGcs();
  settleHeap();
  settleHeap();
  await turn();
  const seen = stop();
  assert.equal(seen.count, 2);
  assert.ok(seen.pauseMs > 0, `pause ${seen.pauseMs} ms`);
});

test('a collection that ran before the watch started is not counted', async () => {
  settleHeap();
  const stop = watchMajorGcs();
  await turn();
  assert.deepEqual(stop(), { count: 0, pauseMs: 0 });
});
