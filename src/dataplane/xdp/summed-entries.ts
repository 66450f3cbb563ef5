/**
 * Entries of a per-CPU array of u64 fields, each field summed over CPUs, read
 * for the indexes in use only: in covering ranges, at most CHUNK_ENTRIES per
 * thread-pool job (BpfMap.readPerCpuSums), one job at a time so that others'
 * pool work (Maglev fills, ring writes) is not queued behind a whole scrape.
 */
import type { BpfMap } from '../../bpf/index.js';
import type { LoopSlicer } from '../../time/loop-slice.js';

/** Entries per pool job: one BPF_MAP_LOOKUP_BATCH call, ~1 ms of pool time. */
export const CHUNK_ENTRIES = 4096;
/**
 * A run of this many unused indexes ends a range; a shorter one is read
 * through: reading it costs less than a pool job of its own (a few µs against tens).
 */
export const MAX_GAP = 64;
/** Indexes scanned for use between two checks of the slice. */
const SCAN_STRIDE = 65536;

/** [first, count] pairs covering every index marked in `used`, each at most CHUNK_ENTRIES long. */
export async function coveringRanges(
  used: Uint8Array,
  slicer: LoopSlicer,
): Promise<[number, number][]> {
  const ranges: [number, number][] = [];
  let first = -1;
  let last = -1;
  for (let base = 0; base < used.length; base += SCAN_STRIDE) {
    await slicer.maybeYield();
    const end = Math.min(used.length, base + SCAN_STRIDE);
    for (let i = base; i < end; i++) {
      if (used[i] === 0) continue;
      if (first >= 0 && (i - last > MAX_GAP || i - first >= CHUNK_ENTRIES)) {
        ranges.push([first, last - first + 1]);
        first = -1;
      }
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first >= 0) ranges.push([first, last - first + 1]);
  return ranges;
}

export class SummedEntries {
  private constructor(
    /** u64 fields per entry. */
    readonly fields: number,
    /** The entries read, range after range, `fields` sums each. */
    readonly sums: Float64Array,
    private readonly firsts: readonly number[],
    /** Where each range's first entry starts in `sums`, and how many entries it holds. */
    private readonly starts: readonly number[],
    private readonly counts: readonly number[],
  ) {}

  /** Reads the entries whose index is marked (non-zero) in `used`. */
  static async read(map: BpfMap, used: Uint8Array, slicer: LoopSlicer): Promise<SummedEntries> {
    const fields = map.info.valueSize / 8;
    const ranges = await coveringRanges(used, slicer);
    const sums = new Float64Array(ranges.reduce((n, [, count]) => n + count * fields, 0));
    const firsts: number[] = [];
    const starts: number[] = [];
    const counts: number[] = [];
    let start = 0;
    for (const [first, count] of ranges) {
      const part = await map.readPerCpuSums(first, count);
      sums.set(part, start);
      firsts.push(first);
      starts.push(start);
      counts.push(part.length / fields);
      start += part.length;
    }
    return new SummedEntries(fields, sums, firsts, starts, counts);
  }

  /** Where entry `index`'s fields start in `sums`, or -1 when it was not read. */
  offsetOf(index: number): number {
    // The last range starting at or before `index` (binary search: ranges are in index order).
    let lo = 0;
    let hi = this.firsts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.firsts[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    const first = this.firsts[lo];
    if (first === undefined || index < first || index - first >= (this.counts[lo] as number)) {
      return -1;
    }
    return (this.starts[lo] as number) + (index - first) * this.fields;
  }
}
