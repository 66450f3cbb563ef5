/** Known values in per-CPU maps, for tests that read them back summed. */
import { type BpfMap, possibleCpus } from '../../../src/bpf/index.js';
import { u32Key } from '../../../src/dataplane/xdp/entries.js';

/** A deterministic stream of u64s of every magnitude (xorshift64*, then a random shift). */
export function u64s(seed: bigint): () => bigint {
  let x = seed;
  const mask = (1n << 64n) - 1n;
  return () => {
    x ^= x >> 12n;
    x ^= (x << 25n) & mask;
    x ^= x >> 27n;
    const r = (x * 0x2545f4914f6cdd1dn) & mask;
    return r >> (r & 63n);
  };
}

/** Writes `values()` into every field of every CPU of entry `index`. */
export function fill(map: BpfMap, index: number, fields: number, values: () => bigint): void {
  const perCpu = Array.from({ length: possibleCpus() }, () => {
    const b = Buffer.alloc(fields * 8);
    for (let f = 0; f < fields; f++) b.writeBigUInt64LE(values(), 8 * f);
    return b;
  });
  map.updatePerCpu(u32Key(index), perCpu);
}
