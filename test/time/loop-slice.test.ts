import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LoopSlicer } from '../../src/time/loop-slice.js';

/** Holds the thread for `ms`, as a slice of real work would. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

describe('LoopSlicer', () => {
  it('yields once its own slice is used', async () => {
    await nextTurn();
    const slicer = new LoopSlicer(5);
    assert.equal(slicer.used(), false);
    spin(6);
    assert.equal(slicer.used(), true);
    await slicer.maybeYield();
    assert.equal(slicer.used(), false);
  });

  it('counts the turn already spent by another slicer against a slicer started in it', async () => {
    await nextTurn();
    const first = new LoopSlicer(5);
    spin(6);
    assert.equal(first.used(), true);
    const second = new LoopSlicer(5);
    assert.equal(second.used(), true, 'a slicer started after the turn slice was spent must yield first');
  });

  it('resumes waiting slicers one per turn, so the second starts with a fresh slice after the timers', async () => {
    const a = new LoopSlicer(5);
    const b = new LoopSlicer(5);
    let bFoundUsed: boolean | undefined;
    const order: string[] = [];
    await Promise.all([
      a.nextSlice().then(() => {
        order.push('a');
        setTimeout(() => order.push('timer'), 0);
        spin(6);
      }),
      b.nextSlice().then(() => {
        order.push('b');
        bFoundUsed = b.used();
      }),
    ]);
    assert.deepEqual(order, ['a', 'timer', 'b']);
    assert.equal(bFoundUsed, false);
  });

  it('lets two busy loops share the turns instead of one starving the other', async () => {
    const done = { a: 0, b: 0 };
    const loop = async (name: 'a' | 'b') => {
      const slicer = new LoopSlicer(2);
      for (let i = 0; i < 60; i++) {
        await slicer.maybeYield();
        spin(1);
        done[name]++;
        if (done.a + done.b >= 60) return;
      }
    };
    await Promise.all([loop('a'), loop('b')]);
    assert.ok(done.a >= 15 && done.b >= 15, `items done: a ${done.a}, b ${done.b}`);
  });
});
