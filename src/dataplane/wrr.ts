/** A real as the round-robin schedulers see it. */
export interface WeightedReal {
  readonly id: number;
  readonly weight: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** rr: every real with a nonzero weight once, in the given order (weight 0 = quiesced). */
export function rrSequence(reals: readonly WeightedReal[]): number[] {
  return reals.filter((r) => r.weight > 0).map((r) => r.id);
}

/**
 * wrr: one period of IPVS's weighted round-robin (ip_vs_wrr.c): the current
 * weight steps down by the weights' gcd from the maximum, and each pass picks
 * every real whose weight reaches it, which interleaves heavy and light reals.
 * When a period would exceed `maxLength`, weights are halved (never below 1)
 * until it fits, keeping their proportions approximately.
 */
export function wrrSequence(reals: readonly WeightedReal[], maxLength: number): number[] {
  let live = reals.filter((r) => r.weight > 0);
  if (live.length === 0) return [];
  if (live.length > maxLength) live = live.slice(0, maxLength);
  let weights = live.map((r) => r.weight);
  const periodOf = (w: number[]) => {
    const g = w.reduce(gcd);
    return w.reduce((sum, x) => sum + x / g, 0);
  };
  while (periodOf(weights) > maxLength) weights = weights.map((w) => Math.max(1, Math.ceil(w / 2)));

  const g = weights.reduce(gcd);
  const max = Math.max(...weights);
  const period = periodOf(weights);
  const out: number[] = [];
  let i = -1;
  let cw = 0;
  while (out.length < period) {
    i = (i + 1) % live.length;
    if (i === 0) {
      cw -= g;
      if (cw <= 0) cw = max;
    }
    if (weights[i]! >= cw) out.push(live[i]!.id);
  }
  return out;
}
