/**
 * What the virtual-server half needs from the host's network stack: links,
 * addresses, routes and neighbours. `KernelHostNetwork` answers over
 * rtnetlink; tests use `MemoryHostNetwork` (testing/memory-host-network.ts).
 * Links are answered synchronously from a table kept current by netlink
 * events, so a data-plane write never waits for a dump.
 */
import type { Logger } from '../log.js';
import { LinkTable } from './link-table.js';
import { type Neighbour, NeighbourTable, type RouteAnswer } from './neighbours.js';
import { type InterfaceAddress, type LinkInfo, RouteNetlink } from './rtnetlink.js';

export type { InterfaceAddress, LinkInfo, Neighbour, RouteAnswer };

/** The interfaces of this network namespace, by name and by index. */
export interface LinkDirectory {
  link(name: string): LinkInfo | undefined;
  linkByIndex(ifindex: number): LinkInfo | undefined;
}

export interface HostNetwork extends LinkDirectory {
  /** Every address of every interface. */
  addresses(): Promise<readonly InterfaceAddress[]>;
  /** The kernel's route to `destination` (ip route get). */
  route(destination: string): Promise<RouteAnswer>;
  /** The neighbour table of one interface. */
  neighbours(ifindex: number): Promise<readonly Neighbour[]>;
  /** Starts ARP/ND for `address` on `ifindex` (the answer shows up in `neighbours`). */
  triggerResolution(address: string, ifindex: number): Promise<void>;
  close(): void;
}

/**
 * The host over rtnetlink. Questions are queued: the kernel runs one dump
 * per netlink socket at a time (EBUSY otherwise).
 */
export class KernelHostNetwork implements HostNetwork {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly netlink: RouteNetlink,
    private readonly neighbourTable: NeighbourTable,
    private readonly links: LinkTable,
  ) {}

  static async open(logger: Logger): Promise<KernelHostNetwork> {
    const netlink = new RouteNetlink();
    const neighbours = new NeighbourTable();
    try {
      const links = await LinkTable.open(netlink, logger);
      return new KernelHostNetwork(netlink, neighbours, links);
    } catch (err) {
      neighbours.close();
      netlink.close();
      throw err;
    }
  }

  link(name: string): LinkInfo | undefined {
    return this.links.link(name);
  }

  linkByIndex(ifindex: number): LinkInfo | undefined {
    return this.links.linkByIndex(ifindex);
  }

  addresses(): Promise<readonly InterfaceAddress[]> {
    return this.serially(() => this.netlink.listAddresses());
  }

  route(destination: string): Promise<RouteAnswer> {
    return this.serially(() => this.neighbourTable.route(destination));
  }

  neighbours(ifindex: number): Promise<readonly Neighbour[]> {
    return this.serially(() => this.neighbourTable.neighbours(ifindex));
  }

  triggerResolution(address: string, ifindex: number): Promise<void> {
    return this.serially(() => this.neighbourTable.triggerResolution(address, ifindex));
  }

  close(): void {
    this.links.close();
    this.neighbourTable.close();
    this.netlink.close();
  }

  private serially<T>(question: () => Promise<T>): Promise<T> {
    const answer = this.queue.then(question);
    this.queue = answer.catch(() => undefined);
    return answer;
  }
}
