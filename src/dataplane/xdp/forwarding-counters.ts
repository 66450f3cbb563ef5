/**
 * The per-real and per-service counters as user space keeps them. The program
 * counts a forwarded packet once, on its real (lb_real_stats[real id]), and a
 * NAT reply on the real's second counter (lb_real_stats[real id + the number
 * of real ids]). A service's figures are its live reals' first counters plus
 * the totals of the reals it lost, which this class carries into
 * lb_service_stats (pinned, so they survive a restart) before a lost real's id
 * can be reused. docs/data-plane.md, "Counters", says why.
 */
import type { BpfMap } from '../../bpf/index.js';
import * as abi from '../abi.js';
import type { TrafficCounters } from '../dataplane.js';
import { sumCounters, u32Key as u32 } from './entries.js';

const ZERO = Buffer.alloc(abi.counters.size);

export class ForwardingCounters {
  constructor(
    private readonly realStats: BpfMap,
    private readonly serviceStats: BpfMap,
    /** Number of real ids: where the NAT-reply counters start (lb_real_reply_stats_base). */
    private readonly replyBase: number,
  ) {}

  /** Zeroes both counters of new real ids, in one batch (a reused id starts from nothing). */
  zeroReals(ids: readonly number[]): void {
    const keys = Buffer.alloc(8 * ids.length);
    ids.forEach((id, i) => {
      keys.writeUInt32LE(id, 4 * i);
      keys.writeUInt32LE(id + this.replyBase, 4 * (ids.length + i));
    });
    this.realStats.updatePacked(keys, Buffer.alloc(this.realStats.valueBytes * 2 * ids.length));
  }

  /** Zeroes the carried totals of a new service id. */
  zeroService(id: number): void {
    this.serviceStats.update(u32(id), ZERO);
  }

  /**
   * Adds a real the service lost to the service's carried totals, CPU by CPU.
   * Call it after the real stopped taking packets (its lb_reals flags cleared)
   * and before its id can be allocated again.
   */
  carry(realId: number, serviceId: number): void {
    const real = this.realStats.lookupPerCpu(u32(realId));
    const carried = this.serviceStats.lookupPerCpu(u32(serviceId));
    if (real === undefined || carried === undefined) return;
    const sums = carried.map((c, cpu) => {
      const a = abi.counters.decode(c);
      const b = abi.counters.decode(real[cpu] ?? ZERO);
      return abi.counters.encode({
        packets: a.packets + b.packets,
        bytes: a.bytes + b.bytes,
        new_conns: a.new_conns + b.new_conns,
      });
    });
    this.serviceStats.updatePerCpu(u32(serviceId), sums);
  }

  /** Packets scheduled to the real (what its service sums). */
  scheduled(realId: number): TrafficCounters {
    return sumCounters(this.realStats.lookupPerCpu(u32(realId)));
  }

  /**
   * A real's figures: packets scheduled to it and, for a NAT real, its replies.
   * Only NAT reals have replies (a real whose forwarding changes gets a new,
   * zeroed id), so the others cost one lookup, not two.
   */
  real(realId: number, nat: boolean, scheduled = this.scheduled(realId)): TrafficCounters {
    if (!nat) return scheduled;
    return add(scheduled, sumCounters(this.realStats.lookupPerCpu(u32(realId + this.replyBase))));
  }

  /** A service's figures: the totals it carries plus its live reals' scheduled packets. */
  service(serviceId: number, scheduled: readonly TrafficCounters[]): TrafficCounters {
    return scheduled.reduce(add, sumCounters(this.serviceStats.lookupPerCpu(u32(serviceId))));
  }
}

function add(a: TrafficCounters, b: TrafficCounters): TrafficCounters {
  return {
    packets: a.packets + b.packets,
    bytes: a.bytes + b.bytes,
    newConnections: a.newConnections + b.newConnections,
  };
}
