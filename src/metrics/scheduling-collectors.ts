import type { Registry } from 'prom-client';
import { snapshotCounter } from './snapshot-counter.js';

/** The event loop's realtime scheduling (vrrp_rt_priority): how often it was demoted. */
export function registerSchedulingCollectors(
  registers: Registry[],
  realtimeDemotions: () => number | undefined,
): void {
  snapshotCounter(
    registers,
    realtimeDemotions,
    'lbctl_event_loop_realtime_demotions_total',
    'Times the event loop ran past vrrp_rlimit_rttime without sleeping and was moved to normal scheduling for up to 100 ms (0 without vrrp_rt_priority)',
    (demotions) => demotions,
  );
}
