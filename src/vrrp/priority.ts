/** What one tracked object does to an instance: a priority change, or FAULT. */
export interface Contribution {
  readonly fault: boolean;
  readonly delta: number;
}

export const NO_CONTRIBUTION: Contribution = { fault: false, delta: 0 };

/**
 * keepalived's weight rules for up/down objects (scripts, interfaces):
 * weight 0 means FAULT while down (while up with `reverse`); a positive weight
 * is added while up; a negative weight is added while down; `reverse` flips
 * the sign of the adjustment.
 */
export function weightedContribution(up: boolean, weight: number, reverse: boolean): Contribution {
  if (weight === 0) return { fault: reverse ? up : !up, delta: 0 };
  const sign = reverse ? -1 : 1;
  if (weight > 0) return { fault: false, delta: up ? sign * weight : 0 };
  return { fault: false, delta: up ? 0 : sign * weight };
}

/**
 * keepalived's track_file rules: with weight 0 a non-zero value is a failure
 * (FAULT); otherwise value x weight is added, and a result below -253 is FAULT.
 */
export function fileContribution(value: number, weight: number, reverse: boolean): Contribution {
  if (weight === 0) return { fault: reverse ? value === 0 : value !== 0, delta: 0 };
  const delta = value * weight * (reverse ? -1 : 1);
  if (delta < -253) return { fault: true, delta: 0 };
  return { fault: false, delta };
}

/**
 * Effective priority: base plus tracked deltas, clamped to 1..254. The
 * address owner (255) is never changed by trackers.
 */
export function effectivePriority(
  base: number,
  contributions: readonly Contribution[],
): { priority: number; fault: boolean } {
  const fault = contributions.some((c) => c.fault);
  if (base === 255) return { priority: 255, fault };
  const sum = contributions.reduce((total, c) => total + c.delta, base);
  return { priority: Math.min(254, Math.max(1, sum)), fault };
}
