/**
 * Median of `values` (not modified): the middle value, or for an even count
 * the mean of the two middle values, so two samples give their mean rather
 * than whichever sorts higher.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median: no values to take the median of');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const upper = sorted[mid]!;
  return sorted.length % 2 === 1 ? upper : (sorted[mid - 1]! + upper) / 2;
}
