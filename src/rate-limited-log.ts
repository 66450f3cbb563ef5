import type { Logger } from './log.js';
import type { Clock, Timer } from './time/clock.js';

export interface RateLimitOptions {
  /** Length of one window. */
  readonly intervalMs?: number;
  /** Messages per key logged in a window before the rest are only counted. */
  readonly burst?: number;
}

type Level = 'info' | 'warn';

interface KeyState {
  windowStart: number;
  logged: number;
  suppressed: number;
  timer: Timer | undefined;
  last: { level: Level; fields: Record<string, unknown>; message: string };
}

/**
 * A logger for events an outsider can cause at will (malformed packets,
 * send errors while a link is down): per key, the first `burst` messages of
 * each window are logged, the rest only counted, and at the end of a window
 * one line says how many were suppressed. Counters elsewhere stay exact;
 * this only bounds what reaches the log. Time comes from the injected clock.
 */
export class RateLimitedLog {
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    options: RateLimitOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.burst = options.burst ?? 1;
  }

  info(key: string, fields: Record<string, unknown>, message: string): void {
    this.log('info', key, fields, message);
  }

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.log('warn', key, fields, message);
  }

  /** Reports what is still suppressed and stops the window timers. */
  close(): void {
    for (const state of this.keys.values()) {
      state.timer?.cancel();
      this.flush(state);
    }
    this.keys.clear();
  }

  private log(level: Level, key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    let state = this.keys.get(key);
    if (state === undefined || now - state.windowStart >= this.intervalMs) {
      if (state !== undefined) {
        state.timer?.cancel();
        this.flush(state);
      }
      state = {
        windowStart: now,
        logged: 0,
        suppressed: 0,
        timer: undefined,
        last: { level, fields, message },
      };
      this.keys.set(key, state);
    }
    state.last = { level, fields, message };
    if (state.logged < this.burst) {
      state.logged++;
      this.logger[level](fields, message);
      return;
    }
    state.suppressed++;
    if (state.timer === undefined) {
      const current = state;
      current.timer = this.clock.setTimer(current.windowStart + this.intervalMs - now, () => {
        current.timer = undefined;
        this.flush(current);
      });
    }
  }

  private flush(state: KeyState): void {
    if (state.suppressed === 0) return;
    const { level, fields, message } = state.last;
    const seconds = this.intervalMs / 1000;
    this.logger[level](
      { ...fields, suppressed: state.suppressed },
      `${message}: ${state.suppressed} more in ${seconds} s not logged`,
    );
    state.suppressed = 0;
  }
}
