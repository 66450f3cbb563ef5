/**
 * SummedEntries (src/dataplane/xdp/summed-entries.ts): the ranges counters()
 * reads the per-CPU counter maps in, and what it reads there, against
 * per-key lookups on a map large enough for several batch calls per job.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as abi from '../../src/dataplane/abi.js';
import { u32Key } from '../../src/dataplane/xdp/entries.js';
import {
  CHUNK_ENTRIES,
  coveringRanges,
  MAX_GAP,
  SummedEntries,
} from '../../src/dataplane/xdp/summed-entries.js';
import { LoopSlicer } from '../../src/time/loop-slice.js';
import { testPlane } from './support/harness.js';
import { fill, u64s } from './support/per-cpu-values.js';

const REAL_FIELDS = abi.realCounters.size / 8;

describe('summed entries', () => {
  const slicer = new LoopSlicer();
  const marked = (length: number, indexes: readonly number[]) => {
    const used = new Uint8Array(length);
    for (const i of indexes) used[i] = 1;
    return used;
  };

  it('cover the indexes in use with ranges split at gaps and at the chunk size', async () => {
    assert.deepEqual(await coveringRanges(new Uint8Array(100), slicer), []);
    assert.deepEqual(await coveringRanges(marked(100, [99]), slicer), [[99, 1]]);
    assert.deepEqual(
      await coveringRanges(marked(20000, [0, 3, 3 + MAX_GAP, 4 + 2 * MAX_GAP, 19999]), slicer),
      [
        [0, 4 + MAX_GAP],
        [4 + 2 * MAX_GAP, 1],
        [19999, 1],
      ],
    );
    const dense = Array.from({ length: CHUNK_ENTRIES + 10 }, (_, i) => i + 5);
    assert.deepEqual(await coveringRanges(marked(70000, dense), slicer), [
      [5, CHUNK_ENTRIES],
      [5 + CHUNK_ENTRIES, 10],
    ]);
  });

  it('read only the ranges in use, summed as per-key lookups sum them', async (t) => {
    const plane = await testPlane(t, { maxServices: 2, maxReals: 5000 });
    const realStats = plane.map('realStats');
    const next = u64s(0x1234567n);
    const written = [1, 2, 70, 140, 4097, 4500, 4999];
    for (const i of written) fill(realStats, i, REAL_FIELDS, next);
    const perKey = (i: number) => {
      const sums = new Array<bigint>(REAL_FIELDS).fill(0n);
      for (const raw of realStats.lookupPerCpu(u32Key(i)) ?? []) {
        for (let f = 0; f < REAL_FIELDS; f++)
          sums[f] = (sums[f] ?? 0n) + raw.readBigUInt64LE(8 * f);
      }
      return sums.map(Number);
    };
    const read = await SummedEntries.read(realStats, marked(5000, written), slicer);
    for (const i of written) {
      const at = read.offsetOf(i);
      assert.ok(at >= 0, `entry ${i} was read`);
      assert.deepEqual([...read.sums.subarray(at, at + REAL_FIELDS)], perKey(i));
    }
    // Not in use and beyond a gap: not read.
    assert.equal(read.offsetOf(0), -1);
    assert.equal(read.offsetOf(300), -1);
    assert.equal(read.offsetOf(4096), -1);
    assert.ok(read.sums.length < (5000 * REAL_FIELDS) / 4, 'far fewer entries than the map holds');
    // One pool job over several batch calls (5,000 entries), ending at the map's end.
    const whole = await realStats.readPerCpuSums(0, 5000);
    assert.equal(whole.length, 5000 * REAL_FIELDS);
    for (const i of [...written, 0, 3000]) {
      assert.deepEqual([...whole.subarray(i * REAL_FIELDS, (i + 1) * REAL_FIELDS)], perKey(i));
    }
  });
});
