import { LbctlError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { canonicalAddress } from '../../net/address.js';
import { type RawDatagram, RawIpSocket } from '../../net/raw-socket.js';
import type { InterfaceAddress } from '../../netlink/rtnetlink.js';
import { RateLimitedLog } from '../../rate-limited-log.js';
import { systemClock } from '../../time/clock.js';
import {
  type EndpointSpec,
  type IpFamily,
  type OutgoingPacket,
  type ReceivedPacket,
  VRRP_MULTICAST_IPV4,
  VRRP_MULTICAST_IPV6,
  VRRP_TTL,
  type VrrpEndpoint,
  type VrrpTransport,
} from '../io.js';

const IPPROTO_VRRP = 112;
// IP precedence 6 (internetwork control), the marking keepalived gives adverts.
const VRRP_TOS = 0xc0;
const IPV6_LINK_LOCAL_SCOPE = 253;

/**
 * VRRP over raw IP protocol 112 sockets. In multicast mode one socket per
 * endpoint receives (bound to the interface, group joined) and one socket per
 * source address sends, bound to that address so the IP source is exactly
 * the one the checksum was computed with; in unicast mode one socket bound to
 * the unicast source does both. TTL / hop limit 255, multicast loop off.
 */
export class RawVrrpTransport implements VrrpTransport {
  private addresses: readonly InterfaceAddress[];
  private ifindexByName: ReadonlyMap<string, number>;
  private readonly logger: Logger;

  /**
   * `addresses` and `ifindexByName` are a snapshot of the host taken at start:
   * primary addresses are chosen from it (VIPs must not be on the interface then).
   */
  constructor(
    addresses: readonly InterfaceAddress[],
    ifindexByName: ReadonlyMap<string, number>,
    logger: Logger,
  ) {
    this.addresses = addresses;
    this.ifindexByName = ifindexByName;
    this.logger = logger;
  }

  /** A reload looks at the host again (VIPs held by running instances left out by the caller). */
  refresh(
    addresses: readonly InterfaceAddress[],
    ifindexByName: ReadonlyMap<string, number>,
  ): void {
    this.addresses = addresses;
    this.ifindexByName = ifindexByName;
  }

  /**
   * keepalived's choice: the first IPv4 address of the interface, or for IPv6
   * its link-local address (RFC 5798 requires a link-local source).
   */
  primaryAddress(iface: string, family: IpFamily): string | undefined {
    const ifindex = this.ifindexByName.get(iface);
    if (ifindex === undefined) return undefined;
    const candidates = this.addresses.filter((a) => a.ifindex === ifindex && a.family === family);
    const chosen =
      family === 4 ? candidates[0] : candidates.find((a) => a.scope === IPV6_LINK_LOCAL_SCOPE);
    return chosen === undefined ? undefined : canonicalAddress(chosen.address);
  }

  open(spec: EndpointSpec, onPacket: (packet: ReceivedPacket) => void): VrrpEndpoint {
    if (!this.ifindexByName.has(spec.interface)) {
      throw new LbctlError(
        'VRRP_NO_SUCH_INTERFACE',
        `Cannot open VRRP socket on ${spec.interface}: no such interface`,
      );
    }
    return new RawVrrpEndpoint(spec, onPacket, this.logger);
  }
}

class RawVrrpEndpoint implements VrrpEndpoint {
  private readonly receiver: RawIpSocket;
  private readonly senders = new Map<string, RawIpSocket>();
  private readonly spec: EndpointSpec;
  private readonly logger: Logger;
  private closed = false;

  /** A link that is down makes every advert fail: one line a minute says so. */
  private readonly sendErrors: RateLimitedLog;

  constructor(spec: EndpointSpec, onPacket: (packet: ReceivedPacket) => void, logger: Logger) {
    this.spec = spec;
    this.logger = logger;
    this.sendErrors = new RateLimitedLog(logger, systemClock);
    const group = spec.family === 4 ? VRRP_MULTICAST_IPV4 : VRRP_MULTICAST_IPV6;
    this.receiver = new RawIpSocket({
      family: spec.family,
      protocol: IPPROTO_VRRP,
      interface: spec.interface,
      ...(spec.unicastSource === undefined ? {} : { bindAddress: spec.unicastSource }),
    });
    try {
      if (spec.unicastSource === undefined) {
        this.receiver.joinMulticast(group, spec.interface);
      } else {
        this.prepareSender(this.receiver);
        this.senders.set(spec.unicastSource, this.receiver);
      }
      this.receiver.receive((datagram) => onPacket(this.toPacket(datagram)));
    } catch (err) {
      this.receiver.close();
      throw err;
    }
  }

  send(packet: OutgoingPacket): void {
    if (this.closed) return;
    try {
      this.sender(packet.source).send(packet.payload, packet.destination);
    } catch (err) {
      // A send failing (interface down, address gone) must not stop the state machine.
      this.sendErrors.warn(
        (err as NodeJS.ErrnoException).code ?? 'send',
        { err, interface: this.spec.interface, destination: packet.destination },
        'cannot send VRRP advert',
      );
    }
  }

  prepare(source: string): void {
    if (this.closed) return;
    try {
      this.sender(source);
    } catch (err) {
      // The address may not be there yet; `send` tries again and reports it.
      this.logger.debug(
        { err, interface: this.spec.interface, source },
        'cannot open VRRP send socket yet',
      );
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.senders.values()) if (socket !== this.receiver) socket.close();
    this.senders.clear();
    this.receiver.close();
    this.sendErrors.close();
  }

  private sender(source: string): RawIpSocket {
    const existing = this.senders.get(source);
    if (existing !== undefined) return existing;
    const socket = new RawIpSocket({
      family: this.spec.family,
      protocol: IPPROTO_VRRP,
      interface: this.spec.interface,
      bindAddress: source,
    });
    try {
      this.prepareSender(socket);
    } catch (err) {
      socket.close();
      throw err;
    }
    this.senders.set(source, socket);
    return socket;
  }

  private prepareSender(socket: RawIpSocket): void {
    socket.setTtl(VRRP_TTL);
    socket.setTos(VRRP_TOS);
    socket.setMulticastInterface(this.spec.interface);
    socket.setMulticastLoop(false);
  }

  private toPacket(datagram: RawDatagram): ReceivedPacket {
    return {
      source: canonicalAddress(datagram.source),
      destination: datagram.destination === undefined ? '' : canonicalAddress(datagram.destination),
      ttlOrHopLimit: datagram.ttl,
      payload: datagram.payload,
      interface: this.spec.interface,
    };
  }
}
