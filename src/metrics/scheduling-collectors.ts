import { Gauge, type Registry } from 'prom-client';
import { snapshotCounter } from './snapshot-counter.js';

/**
 * What the metrics read of the scheduling of the thread VRRP runs on
 * (src/daemon/scheduling-service.ts): its own thread under `lbctl up`, the
 * main thread when no VRRP instance is configured.
 */
export interface SchedulingReading {
  /** Demotions so far while the loop runs realtime; undefined while it does not. */
  readonly realtimeDemotions: number | undefined;
  /** The loop's SCHED_RR priority now (configured or raised by max_auto_priority); 0: normal scheduling. */
  readonly realtimePriority: number;
}

export type SchedulingReadingSource = () =>
  | SchedulingReading
  | undefined
  | Promise<SchedulingReading | undefined>;

/** The event loop's realtime scheduling (vrrp_rt_priority, max_auto_priority). */
export function registerSchedulingCollectors(
  registers: Registry[],
  scheduling: SchedulingReadingSource,
): void {
  snapshotCounter(
    registers,
    async () => (await scheduling())?.realtimeDemotions,
    'lbctl_event_loop_realtime_demotions_total',
    "Times the VRRP thread's event loop ran past vrrp_rlimit_rttime without sleeping and was moved to normal scheduling for up to 100 ms (0 without realtime scheduling)",
    (demotions) => demotions,
  );
  new Gauge({
    name: 'lbctl_event_loop_realtime_priority',
    help: "The VRRP thread's SCHED_RR priority (vrrp_rt_priority, or as raised by max_auto_priority); 0 under normal scheduling",
    registers,
    async collect() {
      const s = await scheduling();
      this.reset();
      if (s !== undefined) this.set(s.realtimePriority);
    },
  });
}
