import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LONG_GAP_MS, mainThreadRunNs, watchLoop } from '../../bench/loop-watch.js';
import { settleHeap } from '../../bench/settle-heap.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Runs for `ms` of this thread's CPU time (however long a loaded machine makes that in wall time). */
function spin(ms: number): void {
  for (const until = mainThreadRunNs() + ms * 1e6; mainThreadRunNs() < until; ) {
    // holds the thread on its CPU
  }
}

test('a long stretch of work on the thread is a long gap, not a wait for a core', async () => {
  const stop = watchLoop();
  await tick();
  spin(3 * LONG_GAP_MS);
  await tick();
  const seen = await stop();
  assert.ok(seen.maxGap >= 3 * LONG_GAP_MS, `maxGap ${seen.maxGap}`);
  // Other long gaps may come from a loaded machine; this one ran on its CPU.
  assert.ok(seen.longGaps - seen.longGapsOffCpu >= 1, JSON.stringify(seen));
});

test('a thread asleep through a long gap counts as off its CPU', async () => {
  const stop = watchLoop();
  await tick();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3 * LONG_GAP_MS);
  await tick();
  const seen = await stop();
  assert.ok(seen.longGapsOffCpu >= 1, JSON.stringify(seen));
});

test('a collection inside a long gap is attributed to it', async () => {
  // Something for the collection to walk, so its pause is over a millisecond.
  const kept = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `object ${i}` }));
  const stop = watchLoop();
  await tick();
  spin(LONG_GAP_MS);
  settleHeap();
  await tick();
  const seen = await stop();
  assert.ok(kept.length > 0);
  assert.ok(seen.maxGcPauseMs >= 1, `maxGcPauseMs ${seen.maxGcPauseMs}`);
  assert.ok(seen.longGapsWithGc >= 1, JSON.stringify(seen));
});
