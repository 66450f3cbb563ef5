import { LbctlError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { gratuitousArpFrame } from '../../net/arp.js';
import { ALL_NODES_MULTICAST, unsolicitedNeighbourAdvert } from '../../net/ndisc.js';
import { PacketSocket } from '../../net/packet-socket.js';
import { RawIpSocket } from '../../net/raw-socket.js';
import { NetlinkError } from '../../netlink/connection.js';
import type { LinkTable } from '../../netlink/link-table.js';
import type { RouteNetlink, RouteSpec } from '../../netlink/rtnetlink.js';
import type { NetworkEffects, VirtualAddress, VirtualRoute } from '../io.js';

const IPPROTO_ICMPV6 = 58;
const EEXIST = 17;

/**
 * What becoming and leaving master does to this host: VIPs and virtual routes
 * through rtnetlink, gratuitous ARP through AF_PACKET, unsolicited neighbour
 * advertisements through an ICMPv6 raw socket (hop limit 255, to ff02::1).
 * Netlink changes are tracked so `settle()` can wait for them at shutdown.
 */
export class HostNetworkEffects implements NetworkEffects {
  private readonly netlink: RouteNetlink;
  private readonly links: LinkTable;
  private readonly logger: Logger;
  private readonly arpSockets = new Map<string, PacketSocket>();
  private readonly ndiscSockets = new Map<string, RawIpSocket>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Announcements sent, per kind (for tests and metrics). */
  readonly sent = { gratuitousArp: 0, neighbourAdvert: 0 };

  constructor(netlink: RouteNetlink, links: LinkTable, logger: Logger) {
    this.netlink = netlink;
    this.links = links;
    this.logger = logger;
  }

  addAddress(vip: VirtualAddress): Promise<void> {
    return this.track(
      this.netlink.addAddress({
        ifindex: this.ifindex(vip.dev, `add ${vip.address}`),
        address: vip.address,
        prefixLength: vip.prefixLength,
        ...(vip.broadcast === undefined ? {} : { broadcast: vip.broadcast }),
        ...(vip.label === undefined ? {} : { label: vip.label }),
        ...(vip.scope === undefined ? {} : { scope: vip.scope }),
      }),
    );
  }

  removeAddress(vip: VirtualAddress): Promise<void> {
    return this.track(
      this.netlink
        .deleteAddress({
          ifindex: this.ifindex(vip.dev, `remove ${vip.address}`),
          address: vip.address,
          prefixLength: vip.prefixLength,
        })
        .then(() => undefined),
    );
  }

  addRoute(route: VirtualRoute): Promise<void> {
    const added = this.netlink.addRoute(this.routeSpec(route)).catch((err: unknown) => {
      // Already there (e.g. left by a crashed run): the state we want.
      if (err instanceof NetlinkError && err.errno === EEXIST) return;
      throw err;
    });
    return this.track(added);
  }

  removeRoute(route: VirtualRoute): Promise<void> {
    return this.track(this.netlink.deleteRoute(this.routeSpec(route)).then(() => undefined));
  }

  sendGratuitousArp(vip: VirtualAddress): void {
    const mac = this.mac(vip.dev, vip.address);
    if (mac === undefined) return;
    const frame = gratuitousArpFrame(mac, vip.address);
    const send = () => this.arpSocket(vip.dev).send(frame);
    if (this.announce(send, vip, 'gratuitous ARP')) this.sent.gratuitousArp++;
  }

  sendUnsolicitedNeighbourAdvert(vip: VirtualAddress): void {
    const mac = this.mac(vip.dev, vip.address);
    if (mac === undefined) return;
    const message = unsolicitedNeighbourAdvert({ target: vip.address, mac });
    const send = () => this.ndiscSocket(vip.dev).send(message, ALL_NODES_MULTICAST);
    if (this.announce(send, vip, 'neighbour advertisement')) this.sent.neighbourAdvert++;
  }

  /** Opens the announcement sockets at start: a takeover then costs only the sends. */
  prepareAnnouncements(vips: readonly VirtualAddress[]): void {
    for (const vip of vips) {
      try {
        if (vip.address.includes(':')) this.ndiscSocket(vip.dev);
        else this.arpSocket(vip.dev);
      } catch (err) {
        // Retried (and reported) by the first announcement.
        this.logger.debug({ err, interface: vip.dev }, 'cannot open announcement socket yet');
      }
    }
  }

  /** Resolves when every address and route change started so far has finished. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    for (const socket of this.arpSockets.values()) socket.close();
    for (const socket of this.ndiscSockets.values()) socket.close();
    this.arpSockets.clear();
    this.ndiscSockets.clear();
  }

  private arpSocket(dev: string): PacketSocket {
    let socket = this.arpSockets.get(dev);
    if (socket === undefined) {
      socket = new PacketSocket(dev);
      this.arpSockets.set(dev, socket);
    }
    return socket;
  }

  private ndiscSocket(dev: string): RawIpSocket {
    let socket = this.ndiscSockets.get(dev);
    if (socket === undefined) {
      socket = new RawIpSocket({ family: 6, protocol: IPPROTO_ICMPV6, interface: dev });
      try {
        // RFC 4861: neighbour discovery messages are only accepted with hop limit 255.
        socket.setTtl(255);
        socket.setMulticastInterface(dev);
        socket.setMulticastLoop(false);
      } catch (err) {
        socket.close();
        throw err;
      }
      this.ndiscSockets.set(dev, socket);
    }
    return socket;
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.inFlight.add(operation);
    const done = () => this.inFlight.delete(operation);
    operation.then(done, done);
    return operation;
  }

  private ifindex(dev: string, action: string): number {
    const link = this.links.link(dev);
    if (link === undefined) {
      throw new LbctlError(
        'VRRP_NO_SUCH_INTERFACE',
        `Cannot ${action} on ${dev}: no such interface`,
      );
    }
    return link.index;
  }

  private mac(dev: string, address: string): string | undefined {
    const mac = this.links.link(dev)?.mac;
    if (mac === undefined) {
      this.logger.warn(
        { interface: dev, address },
        'cannot announce address: interface has no MAC',
      );
    }
    return mac;
  }

  private announce(send: () => void, vip: VirtualAddress, what: string): boolean {
    try {
      send();
      return true;
    } catch (err) {
      this.logger.warn({ err, interface: vip.dev, address: vip.address }, `cannot send ${what}`);
      return false;
    }
  }

  private routeSpec(route: VirtualRoute): RouteSpec {
    return {
      destination: route.destination,
      ...(route.via === undefined ? {} : { gateway: route.via }),
      ...(route.dev === undefined
        ? {}
        : { ifindex: this.ifindex(route.dev, `route ${route.destination}`) }),
      ...(route.src === undefined ? {} : { source: route.src }),
      ...(route.metric === undefined ? {} : { metric: route.metric }),
      ...(route.table === undefined ? {} : { table: route.table }),
      ...(route.scope === undefined ? {} : { scope: route.scope }),
    };
  }
}
