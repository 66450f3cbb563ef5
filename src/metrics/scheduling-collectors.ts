import { Gauge, type Registry } from 'prom-client';
import { snapshotCounter } from './snapshot-counter.js';

/** What the metrics read of the event loop's scheduling (src/daemon/scheduling-service.ts). */
export interface SchedulingMetricsSource {
  /** Demotions so far while the loop runs realtime; undefined while it does not. */
  realtimeDemotions(): number | undefined;
  /** The loop's SCHED_RR priority now (configured or raised by max_auto_priority); 0: normal scheduling. */
  realtimePriority(): number;
}

/** The event loop's realtime scheduling (vrrp_rt_priority, max_auto_priority). */
export function registerSchedulingCollectors(
  registers: Registry[],
  scheduling: () => SchedulingMetricsSource | undefined,
): void {
  snapshotCounter(
    registers,
    () => scheduling()?.realtimeDemotions(),
    'lbctl_event_loop_realtime_demotions_total',
    'Times the event loop ran past vrrp_rlimit_rttime without sleeping and was moved to normal scheduling for up to 100 ms (0 without realtime scheduling)',
    (demotions) => demotions,
  );
  new Gauge({
    name: 'lbctl_event_loop_realtime_priority',
    help: "The event loop thread's SCHED_RR priority (vrrp_rt_priority, or as raised by max_auto_priority); 0 under normal scheduling",
    registers,
    collect() {
      const s = scheduling();
      this.reset();
      if (s !== undefined) this.set(s.realtimePriority());
    },
  });
}
