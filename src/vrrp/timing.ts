/**
 * VRRP timers, computed as keepalived does (integer microseconds) and
 * returned in milliseconds.
 */

/**
 * Skew_Time: v2 (256 - priority) / 256 s; v3 (256 - priority) * master interval / 256.
 * keepalived 2.2 (vrrp.h, VRRP_TIMER_SKEW) computes v3 in microseconds as
 * (256 - priority) * interval_cs * 625 / 16, truncated to whole microseconds.
 */
export function skewTimeMs(
  version: 2 | 3,
  priority: number,
  masterAdvertIntervalMs: number,
): number {
  if (version === 2) return Math.floor(((256 - priority) * 1_000_000) / 256) / 1000;
  const intervalCs = Math.floor(masterAdvertIntervalMs / 10);
  return Math.floor(((256 - priority) * intervalCs * 625) / 16) / 1000;
}

/** Master_Down_Interval: 3 x master advert interval + Skew_Time. */
export function masterDownIntervalMs(
  version: 2 | 3,
  priority: number,
  masterAdvertIntervalMs: number,
): number {
  return 3 * masterAdvertIntervalMs + skewTimeMs(version, priority, masterAdvertIntervalMs);
}
