/**
 * A model of the program's connection-table insert (lb_conn_insert in
 * bpf/include/lb_conntrack.h) for flows that all stay live: each new flow
 * takes a free entry of the emptier of its two sets (the first on a tie),
 * else the least recently seen flow of its first set, then of its second,
 * moves to its own other set if that has a free entry, else the first set's
 * least recently seen flow is evicted. Flows are seen in the order they are
 * inserted (a flow's entry is never refreshed). Given the sets the program's
 * hash gives each flow (flowSets), it says how many flows the table must
 * evict, so a test can compare the table with the algorithm instead of
 * hoping a random key spreads its flows well enough.
 */
import * as abi from '../../../src/dataplane/abi.js';

const WAYS = abi.CONN_WAYS;
const EMPTY = -1;

export interface ModelResult {
  /** Live flows evicted (the connTable.evicted counter). */
  readonly evicted: number;
  /** Flows moved to their other set to make room. */
  readonly moved: number;
}

/**
 * Inserts flows 0 … n−1, flow i into the sets `first[i]` and `second[i]`, in
 * a table of `sets` sets of CONN_WAYS entries, and counts evictions.
 */
export function modelInserts(
  sets: number,
  first: ArrayLike<number>,
  second: ArrayLike<number>,
): ModelResult {
  // ways[set * WAYS + way]: the flow held, EMPTY if none; a flow's number is its insertion order.
  const ways = new Int32Array(sets * WAYS).fill(EMPTY);
  const used = new Uint8Array(sets);
  let evicted = 0;
  let moved = 0;
  const freeWay = (set: number) => {
    for (let w = 0; w < WAYS; w++) if (ways[set * WAYS + w] === EMPTY) return w;
    return WAYS;
  };
  // The least recently seen flow of a full set: the one inserted first.
  const victimWay = (set: number) => {
    let victim = 0;
    for (let w = 1; w < WAYS; w++)
      if (ways[set * WAYS + w]! < ways[set * WAYS + victim]!) victim = w;
    return victim;
  };
  const take = (set: number, way: number, flow: number) => {
    if (ways[set * WAYS + way] === EMPTY) used[set]!++;
    ways[set * WAYS + way] = flow;
  };
  // lb_conn_relocate: the way of `set` its victim vacated by moving, or WAYS.
  const relocate = (set: number) => {
    const way = victimWay(set);
    const flow = ways[set * WAYS + way]!;
    let other = first[flow]!;
    if (other === set) other = second[flow]!;
    if (other === set) return WAYS;
    const free = freeWay(other);
    if (free === WAYS) return WAYS;
    take(other, free, flow);
    ways[set * WAYS + way] = EMPTY;
    used[set]!--;
    moved++;
    return way;
  };
  for (let flow = 0; flow < first.length; flow++) {
    const a = first[flow]!;
    const b = second[flow]!;
    const freeA = WAYS - used[a]!;
    const freeB = WAYS - used[b]!;
    if (freeA || freeB) {
      const set = freeB > freeA ? b : a;
      take(set, freeWay(set), flow);
      continue;
    }
    let way = relocate(a);
    if (way < WAYS) {
      take(a, way, flow);
      continue;
    }
    way = relocate(b);
    if (way < WAYS) {
      take(b, way, flow);
      continue;
    }
    evicted++;
    ways[a * WAYS + victimWay(a)] = flow;
  }
  return { evicted, moved };
}
