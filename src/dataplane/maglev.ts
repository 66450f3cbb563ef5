import { hash } from 'node:crypto';
import { native } from '../bpf/addon.js';

/** A backend placed in a Maglev table: `key` names it stably across updates. */
export interface MaglevBackend {
  readonly id: number;
  readonly key: string;
  readonly weight: number;
  /** maglevPreference(key, size), when the caller kept it from an earlier table. */
  readonly preference?: MaglevPreference;
}

/** Where a backend's permutation of a `size`-slot table starts, and its step. */
export interface MaglevPreference {
  readonly size: number;
  readonly offset: number;
  readonly skip: number;
}

/** True when n is prime (table sizes must be, so every skip visits every slot). */
export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** A backend's preference, from a hash of its key: the same key always gets the same one. */
export function maglevPreference(key: string, size: number): MaglevPreference {
  // One-shot hash: a fraction of createHash's cost for a short key.
  const digest = hash('sha256', key, 'buffer');
  return {
    size,
    offset: digest.readUInt32LE(0) % size,
    skip: (digest.readUInt32LE(4) % (size - 1)) + 1,
  };
}

/** The live backends in table order, with their permutations, as typed arrays. */
interface MaglevPlan {
  readonly offsets: Int32Array;
  readonly skips: Int32Array;
  /** Weights go up to 2^32 - 1: kept in doubles (exact below 2^53), as are credits. */
  readonly weights: Float64Array;
  readonly ids: Uint32Array;
}

/** The backends that get slots (weight > 0), in table order: by key. */
export function liveBackends(backends: readonly MaglevBackend[]): MaglevBackend[] {
  return backends
    .filter((b) => b.weight > 0)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The one place a table size is checked, for every builder (in-loop and off-loop). */
function plan(live: readonly MaglevBackend[], size: number): MaglevPlan | undefined {
  if (!isPrime(size)) {
    throw new RangeError(
      `Maglev table size ${size} is not prime (a prime size lets every permutation visit every slot)`,
    );
  }
  if (live.length === 0) return undefined;
  const n = live.length;
  const p = {
    offsets: new Int32Array(n),
    skips: new Int32Array(n),
    weights: new Float64Array(n),
    ids: new Uint32Array(n),
  };
  live.forEach((backend, i) => {
    const kept = backend.preference;
    const pref = kept?.size === size ? kept : maglevPreference(backend.key, size);
    p.offsets[i] = pref.offset;
    p.skips[i] = pref.skip;
    p.weights[i] = backend.weight;
    p.ids[i] = backend.id;
  });
  return p;
}

/**
 * Maglev lookup table (Eisenbud et al., NSDI 2016) with weights: each backend
 * walks its own permutation of the slots and claims the next free one when
 * it has earned a turn; a backend earns turns in proportion to its weight.
 * Backends with weight 0 get no slots. Returns an all-zero table when no
 * backend has weight.
 */
export function maglevTable(backends: readonly MaglevBackend[], size: number): Uint32Array {
  const table = new Uint32Array(size);
  const p = plan(liveBackends(backends), size);
  if (p === undefined) return table;
  // Each backend's walk is kept as its current slot, stepped by `skip` modulo `size`:
  // the same sequence as (offset + n * skip) % size, in int32 arithmetic (size < 2^31,
  // so slot + skip never overflows) instead of float multiplies and modulos.
  const n = p.ids.length;
  const slotOf = Int32Array.from(p.offsets);
  const credit = new Float64Array(n);
  const filled = new Uint8Array(size);
  let maxWeight = 0;
  for (const w of p.weights) if (w > maxWeight) maxWeight = w;
  let placed = 0;

  while (placed < size) {
    for (let i = 0; i < n && placed < size; i++) {
      credit[i]! += p.weights[i]!;
      if (credit[i]! < maxWeight) continue;
      credit[i]! -= maxWeight;
      const skip = p.skips[i]!;
      let slot = slotOf[i]!;
      while (filled[slot] === 1) {
        slot += skip;
        if (slot >= size) slot -= size;
      }
      filled[slot] = 1;
      table[slot] = p.ids[i]!;
      slot += skip;
      slotOf[i] = slot >= size ? slot - size : slot;
      placed++;
    }
  }
  return table;
}

/** Bytes per backend index in a placement of `n` live backends. */
export function indexBytes(n: number): 1 | 2 | 4 {
  return n <= 0x100 ? 1 : n <= 0x10000 ? 2 : 4;
}

/**
 * Where each slot goes, as the index of its backend in `live` (liveBackends'
 * order), `indexBytes(live.length)` bytes per slot, host-endian: filled by
 * the addon on the libuv thread pool, about 3x faster than the JS loop and
 * off the event loop, so a 65,537-slot build never stalls the timers VRRP
 * shares the loop with. It does not depend on the backends' ids, so services
 * with the same backends and weights share it (MaglevFills). `live` must be
 * non-empty. Async: a refused argument rejects like a failed fill. The addon
 * probes eight slots of a walk at a time with AVX2 where the CPU has it;
 * `oneAtATime` forces the portable walk (the same table: tests compare both).
 */
export async function maglevPlacementOffLoop(
  live: readonly MaglevBackend[],
  size: number,
  options: FillOptions = {},
): Promise<Buffer> {
  const p = plan(live, size);
  if (p === undefined) throw new RangeError('Maglev placement of no live backend');
  return await fillOffLoop(p, size, options);
}

/** How the addon walks a permutation (the table is the same either way). */
export interface FillOptions {
  /** The portable walk, one slot at a time, instead of AVX2's eight. */
  readonly oneAtATime?: boolean;
}

/** A planned table filled by the addon on the libuv pool: backend indices, not ids. */
function fillOffLoop(p: MaglevPlan, size: number, options: FillOptions): Promise<Buffer> {
  return native().maglevFill(
    p.offsets,
    p.skips,
    p.weights,
    size,
    indexBytes(p.ids.length),
    options.oneAtATime === true,
  );
}

/** A placement's indices as ids: `ids[i]` is the id of the backend at index i. */
export function placementIds(placement: Buffer, ids: Uint32Array, size: number): Uint32Array {
  const width = indexBytes(ids.length);
  // Typed-array views need alignment; an addon buffer has it, a copy covers any other.
  const aligned = placement.byteOffset % width === 0 ? placement : Buffer.from(placement);
  const view =
    width === 1
      ? new Uint8Array(aligned.buffer, aligned.byteOffset, size)
      : width === 2
        ? new Uint16Array(aligned.buffer, aligned.byteOffset, size)
        : new Uint32Array(aligned.buffer, aligned.byteOffset, size);
  return Uint32Array.from(view, (i) => ids[i]!);
}

/** The same table as maglevTable, placed off the event loop. Identical output. */
export async function maglevTableOffLoop(
  backends: readonly MaglevBackend[],
  size: number,
  options: FillOptions = {},
): Promise<Uint32Array> {
  const p = plan(liveBackends(backends), size);
  if (p === undefined) return new Uint32Array(size);
  return placementIds(await fillOffLoop(p, size, options), p.ids, size);
}
