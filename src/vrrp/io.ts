/**
 * The I/O the VRRP engine needs from the outside world. The native layer
 * (raw IP protocol 112 sockets, AF_PACKET, ICMPv6, rtnetlink) implements these;
 * tests use the in-memory implementations in `testing/`.
 */

import type { AddressScope } from '../net/address.js';

export type { AddressScope } from '../net/address.js';
export type IpFamily = 4 | 6;

/** The VRRP multicast groups (RFC 3768 section 5.2.2, RFC 5798 section 5.1.1.2). */
export const VRRP_MULTICAST_IPV4 = '224.0.0.18';
export const VRRP_MULTICAST_IPV6 = 'ff02::12';
/** TTL / hop limit every VRRP packet is sent with and, in multicast mode, required on receive. */
export const VRRP_TTL = 255;

/** Where a group of instances sends and receives: one socket pair in the native layer. */
export interface EndpointSpec {
  readonly family: IpFamily;
  /** Interface the socket is bound to (SO_BINDTODEVICE) and joins the group on. */
  readonly interface: string;
  /** Set in unicast mode: the socket binds to this address and joins no group. */
  readonly unicastSource?: string;
}

/** A VRRP message as received, IP header already parsed away by the socket layer. */
export interface ReceivedPacket {
  readonly source: string;
  readonly destination: string;
  /** IPv4 TTL or IPv6 hop limit of the received packet. */
  readonly ttlOrHopLimit: number;
  /** The VRRP message (no IP header, no AH header). */
  readonly payload: Buffer;
  readonly interface: string;
}

/** A VRRP message to send; the socket layer builds the IP header (protocol 112, TOS 0xc0). */
export interface OutgoingPacket {
  readonly source: string;
  /** 224.0.0.18 / ff02::12 in multicast mode, a unicast peer otherwise. */
  readonly destination: string;
  readonly ttlOrHopLimit: number;
  readonly payload: Buffer;
  readonly interface: string;
}

export interface VrrpEndpoint {
  send(packet: OutgoingPacket): void;
  /**
   * Sets up sending from `source` now instead of at the first send, so the
   * advert that claims mastership does not wait for socket setup. Never throws:
   * a failure is retried (and reported) by `send`.
   */
  prepare?(source: string): void;
  close(): void;
}

export interface VrrpTransport {
  /**
   * Opens the sockets for `spec` and calls `onPacket` for every VRRP message
   * received on them (from the event loop, never synchronously inside `send`).
   */
  open(spec: EndpointSpec, onPacket: (packet: ReceivedPacket) => void): VrrpEndpoint;
  /** Primary address of `iface` for `family` (used as source when none is configured). */
  primaryAddress(iface: string, family: IpFamily): string | undefined;
}

/** One virtual address, with keepalived's `virtual_ipaddress` attributes. */
export interface VirtualAddress {
  readonly address: string;
  readonly prefixLength: number;
  /** Interface to add it to; defaults to the instance's interface. */
  readonly dev: string;
  readonly label?: string;
  readonly scope?: AddressScope;
  /** IPv4 broadcast address (`brd`). */
  readonly broadcast?: string;
}

/** One virtual route (keepalived's `virtual_routes`). */
export interface VirtualRoute {
  /** Destination in CIDR form, or `default`. */
  readonly destination: string;
  readonly via?: string;
  readonly dev?: string;
  readonly src?: string;
  readonly table?: number;
  readonly metric?: number;
  readonly scope?: AddressScope;
}

/**
 * What becoming or leaving master does to the host. Methods may return a
 * promise (netlink round trips); the engine orders them (addresses, routes,
 * then announcements) and logs failures without giving up the state.
 */
export interface NetworkEffects {
  addAddress(vip: VirtualAddress): void | Promise<void>;
  removeAddress(vip: VirtualAddress): void | Promise<void>;
  addRoute(route: VirtualRoute): void | Promise<void>;
  removeRoute(route: VirtualRoute): void | Promise<void>;
  /** One gratuitous ARP (the ARP request form keepalived sends) for an IPv4 VIP. */
  sendGratuitousArp(vip: VirtualAddress): void;
  /** One unsolicited neighbour advertisement for an IPv6 VIP. */
  sendUnsolicitedNeighbourAdvert(vip: VirtualAddress): void;
  /**
   * Sets up what announcing `vips` needs (sockets) at start, so becoming master
   * announces at once. Never throws: a failure is retried by the send methods.
   */
  prepareAnnouncements?(vips: readonly VirtualAddress[]): void;
}

/** Link state of interfaces (rtnetlink RTM_NEWLINK in the native layer). */
export interface LinkStateSource {
  isUp(iface: string): boolean;
  /** Calls `listener` whenever `iface` changes state; returns an unsubscribe function. */
  watch(iface: string, listener: (up: boolean) => void): () => void;
}
