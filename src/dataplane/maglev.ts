import { createHash } from 'node:crypto';

/** A backend placed in a Maglev table: `key` names it stably across updates. */
export interface MaglevBackend {
  readonly id: number;
  readonly key: string;
  readonly weight: number;
}

/** True when n is prime (table sizes must be, so every skip visits every slot). */
export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function preferences(key: string, size: number): { offset: number; skip: number } {
  const digest = createHash('sha256').update(key).digest();
  return {
    offset: digest.readUInt32LE(0) % size,
    skip: (digest.readUInt32LE(4) % (size - 1)) + 1,
  };
}

/**
 * Maglev lookup table (Eisenbud et al., NSDI 2016) with weights: each backend
 * walks its own permutation of the slots and claims the next free one when
 * it has earned a turn; a backend earns turns in proportion to its weight.
 * Backends with weight 0 get no slots. Returns an all-zero table when no
 * backend has weight.
 */
export function maglevTable(backends: readonly MaglevBackend[], size: number): Uint32Array {
  if (!isPrime(size)) throw new RangeError(`Maglev table size ${size} is not prime`);
  const table = new Uint32Array(size);
  const live = backends
    .filter((b) => b.weight > 0)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (live.length === 0) return table;

  const filled = new Uint8Array(size);
  const prefs = live.map((b) => preferences(b.key, size));
  const next = new Array<number>(live.length).fill(0);
  const credit = new Array<number>(live.length).fill(0);
  const maxWeight = Math.max(...live.map((b) => b.weight));
  let placed = 0;

  while (placed < size) {
    for (let i = 0; i < live.length && placed < size; i++) {
      const backend = live[i]!;
      const pref = prefs[i]!;
      credit[i]! += backend.weight;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      let slot = (pref.offset + next[i]! * pref.skip) % size;
      while (filled[slot] === 1) {
        next[i]!++;
        slot = (pref.offset + next[i]! * pref.skip) % size;
      }
      filled[slot] = 1;
      table[slot] = backend.id;
      next[i]!++;
      placed++;
    }
  }
  return table;
}
