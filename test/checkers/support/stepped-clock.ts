import type { Clock, Timer } from '../../../src/time/clock.js';
import { FakeClock } from '../../../src/time/fake-clock.js';

/**
 * A FakeClock that advances one due timer at a time and lets promise chains
 * settle in between, so async work finishing "at" a timer's time sees that
 * time on the clock.
 */
export class SteppedClock implements Clock {
  private readonly inner = new FakeClock();
  private readonly dues = new Map<number, number>();
  private nextId = 0;

  now(): number {
    return this.inner.now();
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const id = this.nextId++;
    this.dues.set(id, this.inner.now() + Math.max(0, delayMs));
    const timer = this.inner.setTimer(delayMs, () => {
      this.dues.delete(id);
      fn();
    });
    return {
      cancel: () => {
        this.dues.delete(id);
        timer.cancel();
      },
    };
  }

  /** Timers still waiting to fire. */
  pendingTimers(): number {
    return this.dues.size;
  }

  async advance(ms: number): Promise<void> {
    const target = this.inner.now() + ms;
    await settle();
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const due of this.dues.values()) next = Math.min(next, due);
      if (next > target) break;
      this.inner.advance(Math.max(0, next - this.inner.now()));
      await settle();
    }
    this.inner.advance(target - this.inner.now());
    await settle();
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
