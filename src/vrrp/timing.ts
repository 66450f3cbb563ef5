/**
 * VRRP timers, computed as keepalived does (integer microseconds for v2,
 * integer centiseconds for v3) and returned in milliseconds.
 */

/** Skew_Time: v2 (256 - priority) / 256 s; v3 ((256 - priority) * master interval) / 256 cs. */
export function skewTimeMs(
  version: 2 | 3,
  priority: number,
  masterAdvertIntervalMs: number,
): number {
  if (version === 2) return Math.floor(((256 - priority) * 1_000_000) / 256) / 1000;
  const intervalCs = Math.floor(masterAdvertIntervalMs / 10);
  return Math.floor(((256 - priority) * intervalCs) / 256) * 10;
}

/** Master_Down_Interval: 3 x master advert interval + Skew_Time. */
export function masterDownIntervalMs(
  version: 2 | 3,
  priority: number,
  masterAdvertIntervalMs: number,
): number {
  return 3 * masterAdvertIntervalMs + skewTimeMs(version, priority, masterAdvertIntervalMs);
}
