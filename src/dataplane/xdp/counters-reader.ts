/**
 * The XDP data plane's counters() without holding the event loop: the per-CPU
 * counter maps are read in ranges on the thread pool, summed over CPUs there
 * (summed-entries.ts), and the figures are put together in slices of the loop.
 * Tens of thousands of reals took one lookup syscall and a BigInt decoding
 * per real and CPU, hundreds of ms in one stretch (docs/data-plane.md, "Counters").
 *
 * The figures are those of the services and reals applied when the read
 * starts. Services may change while it reads, and a change carries a lost
 * real's totals into its service's and the global entries, or zeroes a new
 * id (forwarding-counters.ts); so the maps are read in this order:
 *
 * 1. the reals' entries (lb_real_stats);
 * 2. then the service and global entries (lb_service_stats, lb_stats);
 * 3. then, in one turn of the loop: a real carried or zeroed since the start is
 *    left out (its entry may have been read before or after its carry, or be
 *    another real's now; its totals are in what step 2 read, or what step 3
 *    reads again); a service or lb_stats[forwarded] carried into while step 2
 *    was reading is read again, now; a service removed since the start (or
 *    whose id another one took) is left out.
 *
 * So a real's packets are counted once, under it or under what carried them,
 * and never under another real; a change after step 3 is in the next read.
 */
import type { BpfMap } from '../../bpf/index.js';
import { LoopSlicer } from '../../time/loop-slice.js';
import * as abi from '../abi.js';
import type {
  DataPlaneCounters,
  RealCounters,
  ServiceCounters,
  ServiceKey,
  TrafficCounters,
} from '../dataplane.js';
import { type ForwardingCounters, REAL_FIELDS, STAT_FORWARDED } from './forwarding-counters.js';
import { SummedEntries } from './summed-entries.js';

/** A real as counters() needs it. */
export interface CountedReal {
  readonly id: number;
  readonly spec: { readonly address: string; readonly port: number };
}

/** An applied service as counters() needs it: its reals map is replaced on a change, never edited. */
export interface CountedService {
  readonly id: number;
  readonly spec: ServiceKey;
  readonly reals: ReadonlyMap<string, CountedReal>;
}

export interface CounterMaps {
  readonly realStats: BpfMap;
  readonly serviceStats: BpfMap;
  readonly stats: BpfMap;
  readonly conns: BpfMap;
}

/** A real's counters when its entry was not read. */
const NO_SUMS = new Float64Array(REAL_FIELDS);
/** Reals assembled between two checks of the slice. */
const REALS_PER_CHECK = 256;

const NONE: TrafficCounters = { packets: 0, bytes: 0, newConnections: 0 };
/** u64 fields of an lb_counters entry (lb_stats, lb_service_stats). */
const COUNTER_FIELDS = abi.counters.size / 8;
/** An lb_counters entry's sums from `at` in `sums`; an entry not read (-1) counts nothing. */
const countersOf = (sums: Float64Array, at: number): TrafficCounters =>
  at < 0
    ? NONE
    : {
        packets: sums[at + abi.counters.offsetOf('packets') / 8] ?? 0,
        bytes: sums[at + abi.counters.offsetOf('bytes') / 8] ?? 0,
        newConnections: sums[at + abi.counters.offsetOf('new_conns') / 8] ?? 0,
      };

/**
 * Counters of `services` (the data plane's applied services by key);
 * `requireOpen` throws once the data plane is closed.
 */
export async function readCounters(
  maps: CounterMaps,
  forwarding: ForwardingCounters,
  services: ReadonlyMap<string, CountedService>,
  requireOpen: () => void,
): Promise<DataPlaneCounters> {
  const slicer = new LoopSlicer();
  const start = forwarding.changeMark();
  const applied = [...services.entries()];
  const realsUsed = new Uint8Array(maps.realStats.info.maxEntries);
  const servicesUsed = new Uint8Array(maps.serviceStats.info.maxEntries);
  for (const [, s] of applied) {
    await slicer.maybeYield();
    servicesUsed[s.id] = 1;
    for (const r of s.reals.values()) realsUsed[r.id] = 1;
  }

  let realSums: SummedEntries;
  let secondRead: number;
  let carriedSums: SummedEntries;
  let statSums: Float64Array;
  try {
    // 1. The reals.
    realSums = await SummedEntries.read(maps.realStats, realsUsed, slicer);
    // 2. What carries add to, after the reals.
    secondRead = forwarding.changeMark();
    [carriedSums, statSums] = await Promise.all([
      SummedEntries.read(maps.serviceStats, servicesUsed, slicer),
      maps.stats.readPerCpuSums(0, maps.stats.info.maxEntries),
    ]);
  } catch (err) {
    // A close while it read fails the read as closed, not as a map's closed handle.
    requireOpen();
    throw err;
  }
  // Resumed from a pool completion: the rest runs in slices from the check phase (loop-slice.ts).
  await slicer.nextSlice();
  requireOpen();

  // 3. In this turn: what changed since the start is left out or read again.
  const changed = forwarding.changeMark() !== start;
  const counted: {
    s: CountedService;
    carried: TrafficCounters;
    reals: Iterable<CountedReal>;
  }[] = [];
  for (const [key, s] of applied) {
    if (services.get(key)?.id !== s.id) continue;
    const carried = forwarding.serviceChangedAfter(s.id, secondRead)
      ? forwarding.carriedBy(s.id)
      : countersOf(carriedSums.sums, carriedSums.offsetOf(s.id));
    const reals = changed
      ? [...s.reals.values()].filter((r) => !forwarding.realChangedAfter(r.id, start))
      : s.reals.values();
    counted.push({ s, carried, reals });
  }
  const stat = (index: number) => countersOf(statSums, index * COUNTER_FIELDS);
  const carriedForwarded = forwarding.forwardedChangedAfter(secondRead)
    ? forwarding.carriedForwarded()
    : stat(STAT_FORWARDED);

  // The figures, in slices.
  const global: Record<string, { packets: number; bytes: number }> = {};
  abi.STAT_REASONS.forEach((reason, i) => {
    const { packets, bytes } = stat(i);
    global[reason] = { packets, bytes };
  });
  // lb_stats[forwarded] holds only the totals of lost reals (forwarding-counters.ts).
  const forwarded = { packets: carriedForwarded.packets, bytes: carriedForwarded.bytes };
  const serviceCounters: ServiceCounters[] = [];
  const sums = realSums.sums;
  for (const { s, carried, reals } of counted) {
    await slicer.maybeYield();
    const figures = { ...carried };
    const realCounters: RealCounters[] = [];
    for (const r of reals) {
      if (realCounters.length % REALS_PER_CHECK === REALS_PER_CHECK - 1) {
        await slicer.maybeYield();
      }
      const at = realSums.offsetOf(r.id);
      if (at < 0) {
        // An entry not read (past the map's end) counts nothing, as an absent key did.
        realCounters.push(forwarding.real(r.spec.address, r.spec.port, NO_SUMS, 0));
        continue;
      }
      realCounters.push(forwarding.real(r.spec.address, r.spec.port, sums, at));
      forwarding.addScheduled(figures, sums, at);
      forwarding.addForwarded(forwarded, sums, at);
    }
    serviceCounters.push({
      service: { vip: s.spec.vip, port: s.spec.port, protocol: s.spec.protocol },
      ...figures,
      reals: realCounters,
    });
  }
  global.forwarded = forwarded;
  const connTable = {
    capacity: maps.conns.info.maxEntries * abi.CONN_WAYS,
    used: stat(abi.STAT_CONN_FILLED).packets,
    evicted: stat(abi.STAT_CONN_EVICTED).packets,
  };
  return {
    global,
    services: serviceCounters,
    connTable,
    hashForwarded: stat(abi.STAT_HASH_FORWARDED).packets,
  };
}
