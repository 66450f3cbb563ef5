import type { Logger } from '../log.js';
import type { LinkDirectory } from './host-network.js';
import { type LinkInfo, type RouteNetlink, watchLinks } from './rtnetlink.js';

/** A link counts as up when it is administratively up and has carrier (keepalived's view). */
function linkIsUp(link: LinkInfo | undefined): boolean {
  return link?.up === true && link.running;
}

/**
 * The current links of this namespace, kept up to date by RTM_NEWLINK /
 * RTM_DELLINK events: link state for `track_interface`, and the MAC and index
 * the network effects and the data plane need synchronously (no netlink
 * round trip in the middle of a write). It has the shape of VRRP's
 * LinkStateSource (isUp, watch) without the netlink layer depending on VRRP.
 */
export class LinkTable implements LinkDirectory {
  private readonly byName = new Map<string, LinkInfo>();
  private readonly listeners = new Map<string, Set<(up: boolean) => void>>();
  private readonly events: { close(): void };
  private readonly netlink: RouteNetlink;
  private readonly logger: Logger;

  private constructor(netlink: RouteNetlink, logger: Logger) {
    this.netlink = netlink;
    this.logger = logger;
    this.events = watchLinks(
      (link, removed) => this.update(link, removed),
      () => {
        this.resync().catch((err: unknown) =>
          this.logger.error({ err }, 'cannot re-read links after lost netlink events'),
        );
      },
    );
  }

  /** Subscribes to link events first, then lists links, so no change falls in between. */
  static async open(netlink: RouteNetlink, logger: Logger): Promise<LinkTable> {
    const table = new LinkTable(netlink, logger);
    try {
      await table.resync();
    } catch (err) {
      table.close();
      throw err;
    }
    return table;
  }

  link(name: string): LinkInfo | undefined {
    return this.byName.get(name);
  }

  linkByIndex(ifindex: number): LinkInfo | undefined {
    for (const link of this.byName.values()) if (link.index === ifindex) return link;
    return undefined;
  }

  isUp(iface: string): boolean {
    return linkIsUp(this.byName.get(iface));
  }

  watch(iface: string, listener: (up: boolean) => void): () => void {
    let set = this.listeners.get(iface);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(iface, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  close(): void {
    this.events.close();
    this.listeners.clear();
  }

  /** Re-reads every link (at start, and when the kernel dropped events on overflow). */
  private async resync(): Promise<void> {
    const links = await this.netlink.listLinks();
    const seen = new Set<string>();
    for (const link of links) {
      seen.add(link.name);
      this.update(link, false);
    }
    for (const [name, link] of this.byName) if (!seen.has(name)) this.update(link, true);
  }

  private update(link: LinkInfo, removed: boolean): void {
    const known = this.byName.get(link.name);
    const before = linkIsUp(known);
    if (removed) this.byName.delete(link.name);
    else this.byName.set(link.name, link);
    const after = linkIsUp(removed ? undefined : link);
    if (before === after) return;
    if (known !== undefined || removed)
      this.logger.info({ interface: link.name, up: after }, 'link state changed');
    for (const listener of this.listeners.get(link.name) ?? []) listener(after);
  }
}
