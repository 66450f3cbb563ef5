import type { NextHop } from '../dataplane/dataplane.js';
import { LbctlError } from '../errors.js';
import type { HostNetwork, Neighbour } from '../netlink/host-network.js';
import type { Clock } from '../time/clock.js';
import type { NextHopResolver } from './next-hop-resolver.js';

export interface HostNextHopsOptions {
  readonly host: HostNetwork;
  readonly clock: Clock;
  /** How long to wait for ARP/ND to answer once resolution is triggered. */
  readonly resolveTimeoutMs?: number;
  readonly pollMs?: number;
  /**
   * How long one dump of an interface's neighbour table answers every
   * lookup (default 1 s): an apply resolving thousands of reals dumps the
   * table a few times, not once per real.
   */
  readonly snapshotMs?: number;
}

/** One dump of an interface's neighbour table, by address. */
interface NeighbourSnapshot {
  readonly takenAt: number;
  /** Dumps are numbered in the order they were asked for. */
  readonly sequence: number;
  readonly table: Promise<ReadonlyMap<string, Neighbour>>;
}

/**
 * Next hops from the host's own tables: the route to the real gives the
 * egress interface and gateway (the real itself when on-link); the neighbour
 * table gives the MAC, resolved on demand when unknown. Answers are cached
 * until forgotten; concurrent questions about one address share one lookup,
 * and lookups share neighbour-table dumps (see `snapshotMs`).
 */
export class HostNextHops implements NextHopResolver {
  private readonly host: HostNetwork;
  private readonly cache = new Map<string, NextHop>();
  private readonly pending = new Map<string, Promise<NextHop>>();
  private readonly clock: Clock;
  private readonly resolveTimeoutMs: number;
  private readonly pollMs: number;
  private readonly snapshotMs: number;
  private readonly snapshots = new Map<number, NeighbourSnapshot>();
  private dumpsAsked = 0;

  constructor(options: HostNextHopsOptions) {
    this.host = options.host;
    this.clock = options.clock;
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? 1000;
    this.pollMs = options.pollMs ?? 50;
    this.snapshotMs = options.snapshotMs ?? 1000;
  }

  resolve(address: string): Promise<NextHop> {
    const cached = this.cache.get(address);
    if (cached !== undefined) return Promise.resolve(cached);
    let lookup = this.pending.get(address);
    if (lookup === undefined) {
      lookup = this.lookup(address).finally(() => this.pending.delete(address));
      this.pending.set(address, lookup);
    }
    return lookup;
  }

  forget(address: string): void {
    this.cache.delete(address);
  }

  private async lookup(address: string): Promise<NextHop> {
    const fail = (reason: string): never => {
      throw new LbctlError('NEXT_HOP_UNKNOWN', `Cannot find the next hop to ${address}: ${reason}`);
    };
    const route = await this.host.route(address);
    if (route.type !== 'unicast' || route.ifindex === undefined) {
      return fail(`the route to it is ${route.type}`);
    }
    const ifindex = route.ifindex;
    const link = this.host.linkByIndex(ifindex);
    if (link === undefined) return fail(`interface ${ifindex} is gone`);
    const hop = route.gateway ?? address;
    const via = route.gateway === undefined ? '' : ` via ${route.gateway}`;
    let neighbour = (await this.neighbourTable(ifindex)).get(hop);
    if (neighbour?.usable !== true) {
      // Only a dump asked for after the resolution started can hold its answer.
      let after = this.dumpsAsked;
      await this.host.triggerResolution(hop, ifindex);
      const deadline = this.clock.now() + this.resolveTimeoutMs;
      for (;;) {
        const table = this.neighbourTable(ifindex, after);
        after = this.dumpsAsked;
        neighbour = (await table).get(hop);
        if (neighbour?.usable === true) break;
        if (this.clock.now() >= deadline) {
          return fail(
            `${hop} did not answer address resolution on ${link.name}${via} within ${this.resolveTimeoutMs} ms`,
          );
        }
        await new Promise<void>((resolve) => this.clock.setTimer(this.pollMs, resolve));
      }
    }
    const answer: NextHop = { interface: link.name, mac: neighbour.mac ?? fail('no MAC') };
    this.cache.set(address, answer);
    return answer;
  }

  /**
   * The neighbours of `ifindex` from a shared dump younger than `snapshotMs`
   * and, with `after`, asked for later than dump number `after`.
   */
  private neighbourTable(ifindex: number, after = 0): Promise<ReadonlyMap<string, Neighbour>> {
    const now = this.clock.now();
    const held = this.snapshots.get(ifindex);
    if (held !== undefined && now - held.takenAt < this.snapshotMs && held.sequence > after) {
      return held.table;
    }
    const table = this.host
      .neighbours(ifindex)
      .then((list) => new Map(list.map((n) => [n.address, n] as const)));
    const snapshot = { takenAt: now, sequence: ++this.dumpsAsked, table };
    this.snapshots.set(ifindex, snapshot);
    // A failed dump is not kept: the next lookup asks again.
    table.catch(() => {
      if (this.snapshots.get(ifindex) === snapshot) this.snapshots.delete(ifindex);
    });
    return table;
  }
}
