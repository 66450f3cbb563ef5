import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Splits a long loop of work into slices of at most `sliceMs` of synchronous
 * time: call `maybeYield()` between items and it gives the event loop a turn
 * (timers, sockets) once the current slice is used up. VRRP adverts share the
 * loop, so no apply may hold it for more than ~10 ms.
 */
export class LoopSlicer {
  private sliceStart = performance.now();

  constructor(private readonly sliceMs = 2) {}

  /** True once the current slice is used up (the next maybeYield will yield). */
  used(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  async maybeYield(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await this.nextSlice();
  }

  /**
   * Gives the loop a turn now and starts a new slice. Call it when work
   * resumes from a timer or an I/O completion: the slice then runs in this
   * turn's check phase, and the turn it yields to starts with the timers.
   * Resumed straight from the timers or poll phase, a slice would yield to
   * this turn's check phase instead, which runs a second slice before any
   * timer.
   */
  async nextSlice(): Promise<void> {
    await nextTurn();
    this.sliceStart = performance.now();
  }
}
