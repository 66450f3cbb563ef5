/**
 * The per-real, per-service and global `forwarded` counters as user space
 * keeps them. The program makes one counter lookup per forwarded packet, its
 * real's lb_real_stats entry (struct lb_real_counters: packets scheduled to
 * the real, those of them forwarded, its NAT replies). A service's figures
 * are its live reals' scheduled counts plus the totals of the reals it lost;
 * the global `forwarded` is every live real's forwarded count plus those of
 * all reals ever lost. This class carries a lost real's totals into
 * lb_service_stats and lb_stats[forwarded] (pinned, so they survive a
 * restart; the program writes neither) before its id can be reused.
 * docs/data-plane.md, "Counters", says why.
 *
 * It also numbers those writes (changeMark), so that a reader of the maps that
 * yields the event loop between its reads (counters-reader.ts) can tell which
 * of what it read a carry or a zeroing may have overtaken.
 */
import type { BpfMap } from '../../bpf/index.js';
import * as abi from '../abi.js';
import type { RealCounters, TrafficCounters } from '../dataplane.js';
import { sumCounters, u32Key as u32 } from './entries.js';

export const STAT_FORWARDED = abi.STAT_REASONS.indexOf('forwarded');

type RealValue = ReturnType<typeof abi.realCounters.decode>;
type Counts = ReturnType<typeof abi.counters.decode>;

/** Where each lb_real_counters field sits among an entry's summed fields (u64s in order). */
const fieldOf = (name: Parameters<typeof abi.realCounters.offsetOf>[0]) =>
  abi.realCounters.offsetOf(name) / 8;
const F = {
  packets: fieldOf('packets'),
  bytes: fieldOf('bytes'),
  newConns: fieldOf('new_conns'),
  fwdPackets: fieldOf('fwd_packets'),
  fwdBytes: fieldOf('fwd_bytes'),
  replyPackets: fieldOf('reply_packets'),
  replyBytes: fieldOf('reply_bytes'),
} as const;
/** Summed fields per lb_real_stats entry. */
export const REAL_FIELDS = abi.realCounters.size / 8;

/** Figures being summed. */
export interface Tally {
  packets: number;
  bytes: number;
  newConnections: number;
}

const field = (sums: Float64Array, at: number, f: number) => sums[at + f] ?? 0;

export class ForwardingCounters {
  /** Writes numbered so far (each carry or zeroing takes the next number). */
  private changes = 0;
  /** Per real id, per service id: the number of the last write to its entry. */
  private readonly realChanged: Float64Array;
  private readonly serviceChanged: Float64Array;
  private forwardedChanged = 0;

  constructor(
    private readonly realStats: BpfMap,
    private readonly serviceStats: BpfMap,
    private readonly stats: BpfMap,
  ) {
    this.realChanged = new Float64Array(realStats.info.maxEntries);
    this.serviceChanged = new Float64Array(serviceStats.info.maxEntries);
  }

  /** The number of the last write so far: a mark to ask later what changed since. */
  changeMark(): number {
    return this.changes;
  }

  /** Real `id`'s entry was zeroed or carried after `mark`. */
  realChangedAfter(id: number, mark: number): boolean {
    return (this.realChanged[id] ?? 0) > mark;
  }

  /** Service `id`'s carried totals were zeroed or added to after `mark`. */
  serviceChangedAfter(id: number, mark: number): boolean {
    return (this.serviceChanged[id] ?? 0) > mark;
  }

  /** lb_stats[forwarded] was added to after `mark`. */
  forwardedChangedAfter(mark: number): boolean {
    return this.forwardedChanged > mark;
  }

  /** Zeroes the counters of new real ids, in one batch (a reused id starts from nothing). */
  zeroReals(ids: readonly number[]): void {
    const keys = Buffer.alloc(4 * ids.length);
    ids.forEach((id, i) => {
      keys.writeUInt32LE(id, 4 * i);
    });
    this.realStats.updatePacked(keys, Buffer.alloc(this.realStats.valueBytes * ids.length));
    if (ids.length === 0) return;
    const change = ++this.changes;
    for (const id of ids) this.realChanged[id] = change;
  }

  /** Zeroes the carried totals of a new service id. */
  zeroService(id: number): void {
    this.serviceStats.update(u32(id), Buffer.alloc(abi.counters.size));
    this.serviceChanged[id] = ++this.changes;
  }

  /**
   * Carries a lost real's totals, CPU by CPU: its forwarded packets into the
   * global `forwarded`, and its scheduled ones into service `serviceId`
   * (undefined when the service is removed with it). Call it after the real
   * stopped taking packets (its lb_reals flags cleared) and before its id can
   * be allocated again.
   */
  carry(realId: number, serviceId: number | undefined): void {
    const real = this.realStats.lookupPerCpu(u32(realId))?.map((v) => abi.realCounters.decode(v));
    if (real === undefined) return;
    const change = ++this.changes;
    this.realChanged[realId] = change;
    this.forwardedChanged = change;
    if (serviceId !== undefined) {
      this.serviceChanged[serviceId] = change;
      this.addPerCpu(this.serviceStats, serviceId, real, (r) => ({
        packets: r.packets,
        bytes: r.bytes,
        new_conns: r.new_conns,
      }));
    }
    this.addPerCpu(this.stats, STAT_FORWARDED, real, (r) => ({
      packets: r.fwd_packets,
      bytes: r.fwd_bytes,
      new_conns: 0n,
    }));
  }

  /**
   * A live real's figures: packets scheduled to it and its NAT replies. Its
   * counters are lb_real_counters fields summed over CPUs: REAL_FIELDS numbers
   * from `at` in `sums`, as BpfMap.readPerCpuSums gives them.
   */
  real(address: string, port: number, sums: Float64Array, at: number): RealCounters {
    return {
      address,
      port,
      packets: field(sums, at, F.packets) + field(sums, at, F.replyPackets),
      bytes: field(sums, at, F.bytes) + field(sums, at, F.replyBytes),
      newConnections: field(sums, at, F.newConns),
    };
  }

  /** Service `serviceId`'s carried totals, read now (one lookup). */
  carriedBy(serviceId: number): TrafficCounters {
    return sumCounters(this.serviceStats.lookupPerCpu(u32(serviceId)));
  }

  /** lb_stats[forwarded], the totals of all lost reals, read now (one lookup). */
  carriedForwarded(): { packets: number; bytes: number } {
    const { packets, bytes } = sumCounters(this.stats.lookupPerCpu(u32(STAT_FORWARDED)));
    return { packets, bytes };
  }

  /**
   * A service's figures are the totals it carries plus its live reals'
   * scheduled packets: `service` starts as the carried totals and takes its
   * reals one by one (real counters as in real()).
   */
  addScheduled(service: Tally, sums: Float64Array, at: number): void {
    service.packets += field(sums, at, F.packets);
    service.bytes += field(sums, at, F.bytes);
    service.newConnections += field(sums, at, F.newConns);
  }

  /**
   * The global `forwarded` is lb_stats[forwarded] summed over CPUs (the totals
   * of lost reals) plus every live real's: `forwarded` starts as the former
   * and takes the reals one by one.
   */
  addForwarded(
    forwarded: { packets: number; bytes: number },
    sums: Float64Array,
    at: number,
  ): void {
    forwarded.packets += field(sums, at, F.fwdPackets);
    forwarded.bytes += field(sums, at, F.fwdBytes);
  }

  private addPerCpu(
    map: BpfMap,
    index: number,
    real: readonly RealValue[],
    part: (r: RealValue) => Counts,
  ): void {
    const current = map.lookupPerCpu(u32(index));
    if (current === undefined) return;
    const sums = current.map((raw, cpu) => {
      const a = abi.counters.decode(raw);
      const r = real[cpu];
      if (r === undefined) return raw;
      const b = part(r);
      return abi.counters.encode({
        packets: a.packets + b.packets,
        bytes: a.bytes + b.bytes,
        new_conns: a.new_conns + b.new_conns,
      });
    });
    map.updatePerCpu(u32(index), sums);
  }
}
