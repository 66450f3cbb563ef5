/**
 * LBCTL_BENCH_SCHEDULING runs a bench case with the daemon's event loop
 * scheduling (docs/operations.md#scheduling), applied by the daemon's own
 * SchedulingService: comma-separated `rt=PRIORITY` (vrrp_rt_priority),
 * `nice=N` (vrrp_priority), `rttime=MICROSECONDS` (vrrp_rlimit_rttime),
 * e.g. `rt=50` or `nice=-20`. Unset: as the process started (the default).
 */
import type { SchedulingSettings } from '../src/config/model.js';
import { SchedulingService } from '../src/daemon/scheduling-service.js';
import { silentLogger } from '../src/log.js';
import { native } from '../src/native/addon.js';

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

/**
 * Applies the scheduling for one case; the result ends it (once, however
 * often called) and says what ran: the setting and how many times the
 * kernel's SIGXCPU demoted the loop.
 */
export async function benchScheduling(): Promise<
  () => Promise<{ scheduling: string; realtimeDemotions: number }>
> {
  const spec = process.env.LBCTL_BENCH_SCHEDULING ?? '';
  const service = new SchedulingService(settingsFrom(spec), silentLogger());
  const before = native().realtimeDemotions();
  await service.start();
  let ended: { scheduling: string; realtimeDemotions: number } | undefined;
  // Once: the case ends it before reporting and again in its cleanup.
  return async () => {
    if (ended === undefined) {
      await service.close();
      ended = {
        scheduling: spec === '' ? 'default' : spec,
        realtimeDemotions: native().realtimeDemotions() - before,
      };
    }
    return ended;
  };
}
