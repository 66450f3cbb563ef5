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
 */
import type { BpfMap } from '../../bpf/index.js';
import * as abi from '../abi.js';
import type { TrafficCounters } from '../dataplane.js';
import { sumCounters, u32Key as u32 } from './entries.js';

const STAT_FORWARDED = abi.STAT_REASONS.indexOf('forwarded');

type RealValue = ReturnType<typeof abi.realCounters.decode>;
type Counts = ReturnType<typeof abi.counters.decode>;

/** One real's counters, summed over CPUs. */
export interface RealTotals {
  readonly scheduled: TrafficCounters;
  readonly forwarded: { packets: number; bytes: number };
  readonly replies: { packets: number; bytes: number };
}

export class ForwardingCounters {
  constructor(
    private readonly realStats: BpfMap,
    private readonly serviceStats: BpfMap,
    private readonly stats: BpfMap,
  ) {}

  /** Zeroes the counters of new real ids, in one batch (a reused id starts from nothing). */
  zeroReals(ids: readonly number[]): void {
    const keys = Buffer.alloc(4 * ids.length);
    ids.forEach((id, i) => {
      keys.writeUInt32LE(id, 4 * i);
    });
    this.realStats.updatePacked(keys, Buffer.alloc(this.realStats.valueBytes * ids.length));
  }

  /** Zeroes the carried totals of a new service id. */
  zeroService(id: number): void {
    this.serviceStats.update(u32(id), Buffer.alloc(abi.counters.size));
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
    if (serviceId !== undefined) {
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

  /** A live real's counters. */
  ofReal(realId: number): RealTotals {
    let packets = 0n;
    let bytes = 0n;
    let newConns = 0n;
    let fwdPackets = 0n;
    let fwdBytes = 0n;
    let replyPackets = 0n;
    let replyBytes = 0n;
    for (const raw of this.realStats.lookupPerCpu(u32(realId)) ?? []) {
      const c = abi.realCounters.decode(raw);
      packets += c.packets;
      bytes += c.bytes;
      newConns += c.new_conns;
      fwdPackets += c.fwd_packets;
      fwdBytes += c.fwd_bytes;
      replyPackets += c.reply_packets;
      replyBytes += c.reply_bytes;
    }
    return {
      scheduled: {
        packets: Number(packets),
        bytes: Number(bytes),
        newConnections: Number(newConns),
      },
      forwarded: { packets: Number(fwdPackets), bytes: Number(fwdBytes) },
      replies: { packets: Number(replyPackets), bytes: Number(replyBytes) },
    };
  }

  /** A real's figures: packets scheduled to it and its NAT replies. */
  real(t: RealTotals): TrafficCounters {
    return {
      packets: t.scheduled.packets + t.replies.packets,
      bytes: t.scheduled.bytes + t.replies.bytes,
      newConnections: t.scheduled.newConnections,
    };
  }

  /** A service's figures: the totals it carries plus its live reals' scheduled packets. */
  service(serviceId: number, reals: readonly RealTotals[]): TrafficCounters {
    let sum = sumCounters(this.serviceStats.lookupPerCpu(u32(serviceId)));
    for (const r of reals) {
      sum = {
        packets: sum.packets + r.scheduled.packets,
        bytes: sum.bytes + r.scheduled.bytes,
        newConnections: sum.newConnections + r.scheduled.newConnections,
      };
    }
    return sum;
  }

  /**
   * The global `forwarded`: `carried` (lb_stats[forwarded] summed over CPUs,
   * the totals of lost reals) plus every live real's.
   */
  forwarded(
    carried: { packets: number; bytes: number },
    reals: readonly RealTotals[],
  ): { packets: number; bytes: number } {
    let sum = carried;
    for (const r of reals) {
      sum = { packets: sum.packets + r.forwarded.packets, bytes: sum.bytes + r.forwarded.bytes };
    }
    return sum;
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
