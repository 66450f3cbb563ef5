/**
 * Start of the slice the current event-loop turn is spending, shared by every
 * LoopSlicer: two sliced loops in one turn (a service's slice, then the
 * reconciler pass it starts) otherwise each take a full slice and add up.
 * Undefined once the loop has had its turn (closeSharedSlice).
 */
let sharedSliceStart: number | undefined;
let closeScheduled = false;

/** Slicers waiting for a turn, resumed one per turn in the order they yielded. */
const waiting: Array<() => void> = [];
let turnScheduled = false;

function closeSharedSlice(): void {
  closeScheduled = false;
  sharedSliceStart = undefined;
}

/** Opens the turn's shared slice at `now` unless one is open; returns its start. */
function openSharedSlice(now: number): number {
  if (sharedSliceStart !== undefined) return sharedSliceStart;
  sharedSliceStart = now;
  // Runs in the next check phase, after the loop had its timers and sockets.
  if (!closeScheduled) {
    closeScheduled = true;
    setImmediate(closeSharedSlice);
  }
  return now;
}

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(startTurn);
}

/**
 * Resumes the longest-waiting slicer in a fresh slice. Only one per turn:
 * resumed together, each would check the slice before any had spent it.
 * Immediates queued here run in the next turn, after its timers.
 */
function startTurn(): void {
  turnScheduled = false;
  closeSharedSlice();
  openSharedSlice(performance.now());
  const resume = waiting.shift();
  if (waiting.length > 0) scheduleTurn();
  resume?.();
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    scheduleTurn();
  });
}

/**
 * Splits a long loop of work into slices of at most `sliceMs` of synchronous
 * time: call `maybeYield()` between items and it gives the event loop a turn
 * (timers, sockets) once the current slice is used up. VRRP adverts share the
 * loop, so no apply may hold it for more than ~10 ms. The budget is per turn,
 * not per slicer: a slicer started or resumed after another spent the turn's
 * slice yields before its first item.
 */
export class LoopSlicer {
  private sliceStart: number;

  constructor(private readonly sliceMs = 2) {
    this.sliceStart = openSharedSlice(performance.now());
  }

  /** True once the current slice is used up (the next maybeYield will yield). */
  used(): boolean {
    const now = performance.now();
    const start = Math.min(this.sliceStart, sharedSliceStart ?? this.sliceStart);
    return now - start >= this.sliceMs;
  }

  async maybeYield(): Promise<void> {
    if (!this.used()) return;
    await this.nextSlice();
  }

  /**
   * Gives the loop a turn now and starts a new slice. Call it when work
   * resumes from a timer or an I/O completion: the slice then runs in this
   * turn's check phase, and the turn it yields to starts with the timers.
   * Resumed straight from the timers or poll phase, a slice would yield to
   * this turn's check phase instead, which runs a second slice before any
   * timer. Waiting slicers take turns, one slice per turn between them.
   */
  async nextSlice(): Promise<void> {
    await nextTurn();
    this.sliceStart = openSharedSlice(performance.now());
  }
}
