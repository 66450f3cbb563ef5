import type { Clock, Timer } from '../time/clock.js';

/** keepalived's gratuitous ARP / unsolicited NA settings, in milliseconds. */
export interface GarpSettings {
  /** Delay before the second burst after becoming master; 0 = no second burst (default 5 s). */
  readonly masterDelayMs: number;
  /** Announcements per address in each burst after becoming master (default 5). */
  readonly masterRepeat: number;
  /** Period of refresh bursts while master; 0 = none (default). */
  readonly masterRefreshMs: number;
  /** Announcements per address in each refresh burst (default 1). */
  readonly masterRefreshRepeat: number;
  /** Delay before a burst after a lower priority advert while master (default: masterDelayMs). */
  readonly lowerPrioDelayMs: number;
  /** Announcements per address in that burst (default: masterRepeat). */
  readonly lowerPrioRepeat: number;
  /** Gap between two announcements (keepalived garp_interval, default 0). */
  readonly intervalMs: number;
}

export const DEFAULT_GARP_SETTINGS: GarpSettings = {
  masterDelayMs: 5000,
  masterRepeat: 5,
  masterRefreshMs: 0,
  masterRefreshRepeat: 1,
  lowerPrioDelayMs: 5000,
  lowerPrioRepeat: 5,
  intervalMs: 0,
};

/**
 * Schedules announcement bursts for a master. `announce(i)` sends one
 * announcement for every address; the packets themselves are the socket
 * layer's business.
 */
export class GarpScheduler {
  private readonly timers = new Set<Timer>();
  private readonly clock: Clock;
  private readonly settings: GarpSettings;
  private readonly announce: () => void;

  constructor(clock: Clock, settings: GarpSettings, announce: () => void) {
    this.clock = clock;
    this.settings = settings;
    this.announce = announce;
  }

  /** Just became master: a burst now, a second one after the delay, then refreshes. */
  becameMaster(): void {
    this.cancel();
    this.burst(this.settings.masterRepeat);
    if (this.settings.masterDelayMs > 0) {
      this.after(this.settings.masterDelayMs, () => this.burst(this.settings.masterRepeat));
    }
    if (this.settings.masterRefreshMs > 0) this.scheduleRefresh();
  }

  /** Heard a lower priority advert while master: re-announce after the lower-priority delay. */
  heardLowerPriority(): void {
    if (this.settings.lowerPrioRepeat <= 0) return;
    if (this.settings.lowerPrioDelayMs > 0) {
      this.after(this.settings.lowerPrioDelayMs, () => this.burst(this.settings.lowerPrioRepeat));
    } else {
      this.burst(this.settings.lowerPrioRepeat);
    }
  }

  cancel(): void {
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
  }

  private scheduleRefresh(): void {
    this.after(this.settings.masterRefreshMs, () => {
      this.burst(this.settings.masterRefreshRepeat);
      this.scheduleRefresh();
    });
  }

  private burst(count: number): void {
    if (count <= 0) return;
    this.announce();
    if (count === 1) return;
    if (this.settings.intervalMs > 0) {
      this.after(this.settings.intervalMs, () => this.burst(count - 1));
    } else {
      this.burst(count - 1);
    }
  }

  private after(delayMs: number, fn: () => void): void {
    const timer = this.clock.setTimer(delayMs, () => {
      this.timers.delete(timer);
      fn();
    });
    this.timers.add(timer);
  }
}
