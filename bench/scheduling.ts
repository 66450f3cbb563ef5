/**
 * LBCTL_BENCH_SCHEDULING runs a bench case with the VRRP thread's scheduling
 * (docs/operations.md#scheduling), applied by the daemon's own
 * SchedulingService on that thread (bench/vrrp-master.ts): comma-separated `rt=PRIORITY` (vrrp_rt_priority),
 * `nice=N` (vrrp_priority), `rttime=MICROSECONDS` (vrrp_rlimit_rttime),
 * e.g. `rt=50` or `nice=-20`. Unset: as the process started (the default).
 */
import type { SchedulingSettings } from '../src/config/model.js';

function settingsFrom(spec: string): SchedulingSettings {
  const settings: { -readonly [K in keyof SchedulingSettings]: SchedulingSettings[K] } = {
    noSwap: false,
  };
  for (const part of spec.split(',').filter((p) => p !== '')) {
    const [key, value] = part.split('=');
    const n = Number(value);
    if (!Number.isInteger(n)) throw new Error(`LBCTL_BENCH_SCHEDULING: '${part}' needs an integer`);
    if (key === 'rt') settings.realtimePriority = n;
    else if (key === 'nice') settings.nice = n;
    else if (key === 'rttime') settings.realtimeLimitUs = n;
    else throw new Error(`LBCTL_BENCH_SCHEDULING: unknown setting '${key}' (rt, nice, rttime)`);
  }
  return settings;
}

/** The scheduling a case runs its VRRP thread with, and how the result names it. */
export function benchScheduling(): {
  readonly name: string;
  readonly settings: SchedulingSettings;
} {
  const spec = process.env.LBCTL_BENCH_SCHEDULING ?? '';
  return { name: spec === '' ? 'default' : spec, settings: settingsFrom(spec) };
}
