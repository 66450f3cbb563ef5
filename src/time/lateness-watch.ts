/**
 * Notices when the event loop runs its timers late: a repeating timer that
 * compares when it ran with when it was due. keepalived's scheduler makes
 * the same check on its earliest timer each time it wakes
 * (max_auto_priority). The timer does not keep the process alive.
 */
export class LatenessWatch {
  private timer: NodeJS.Timeout | undefined;

  /**
   * Calls `onLate(lateMs)` after every tick more than `thresholdMs` late.
   * Ticks come every `thresholdMs`, kept within 10..100 ms: a stall of
   * threshold + one period is always seen, and an idle daemon wakes ten
   * times a second for it at keepalived's default threshold (1 s), a
   * hundred at most.
   */
  start(thresholdMs: number, onLate: (lateMs: number) => void): void {
    this.stop();
    const periodMs = Math.min(100, Math.max(10, thresholdMs));
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const lateMs = now - last - periodMs;
      last = now;
      if (lateMs > thresholdMs) onLate(lateMs);
    }, periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
