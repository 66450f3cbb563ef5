import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Under realtime scheduling every slice boundary also sleeps briefly: the
 * kernel's RLIMIT_RTTIME counts a realtime thread's CPU time until it sleeps,
 * and a loop with pending setImmediate callbacks polls without sleeping, so a
 * sliced pass of seconds would otherwise count as one run (docs/operations.md#scheduling).
 * A futex wait with a timeout is a real sleep, unlike a timer the loop may
 * find already due.
 */
let boundarySleepMs = 0;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Sleep `ms` at every slice boundary from now on (0: do not). */
export function sleepAtSliceBoundaries(ms: number): void {
  boundarySleepMs = ms;
}

function sliceBoundarySleep(): void {
  if (boundarySleepMs > 0) Atomics.wait(sleeper, 0, 0, boundarySleepMs);
}

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
    sliceBoundarySleep();
    this.sliceStart = performance.now();
  }
}
