import { LbctlError } from '../errors.js';
import { RouteNetlink } from '../netlink/rtnetlink.js';

/** An interface in the current network namespace. */
export interface LinkInfo {
  readonly name: string;
  readonly ifindex: number;
  readonly mac: string;
}

/**
 * The interfaces of this network namespace with a MAC address, by name and
 * by index, from one rtnetlink dump (never /sys/class/net, which shows the
 * namespace sysfs was mounted in; never a child process, which would block).
 */
export class LinkTable {
  private constructor(private readonly links: readonly LinkInfo[]) {}

  static async read(): Promise<LinkTable> {
    const netlink = new RouteNetlink();
    try {
      const links = await netlink.listLinks();
      return new LinkTable(
        links.flatMap((l) =>
          l.mac === undefined ? [] : [{ name: l.name, ifindex: l.index, mac: l.mac }],
        ),
      );
    } finally {
      netlink.close();
    }
  }

  byName(name: string): LinkInfo {
    const link = this.links.find((l) => l.name === name);
    if (link === undefined) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_INTERFACE',
        `Cannot look up interface ${name}: no such interface`,
      );
    }
    return link;
  }

  byIndex(ifindex: number): LinkInfo | undefined {
    return this.links.find((l) => l.ifindex === ifindex);
  }
}
