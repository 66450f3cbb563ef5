import { type NativeRawIpSocket, native } from '../native/addon.js';

export interface RawDatagram {
  /** The IP payload (no IP header). */
  payload: Buffer;
  source: string;
  destination: string | undefined;
  /** TTL (IPv4) or hop limit (IPv6) it arrived with; -1 when the kernel did not say. */
  ttl: number;
  /** IPv4 TOS / IPv6 traffic class; -1 when the kernel did not say. */
  tos: number;
  ifindex: number;
}

export interface RawIpSocketOptions {
  family: 4 | 6;
  /** IP protocol number: 112 VRRP, 1 ICMP, 58 ICMPv6. */
  protocol: number;
  /** Receive and send only on this interface (SO_BINDTODEVICE); also the scope of link-local destinations. */
  interface?: string;
  /** Source address for sends. */
  bindAddress?: string;
}

/**
 * A raw IP socket for one protocol, integrated with the event loop (no
 * polling timers). Used for VRRP adverts, ICMP echo and ICMPv6 NA.
 */
export class RawIpSocket {
  private readonly handle: NativeRawIpSocket;

  constructor(readonly options: RawIpSocketOptions) {
    this.handle = new (native().RawIpSocket)(options);
  }

  setTtl(ttl: number): void {
    this.handle.setTtl(ttl);
  }

  /** Type of service (IPv4) / traffic class (IPv6) of sent datagrams. */
  setTos(tos: number): void {
    this.handle.setTos(tos);
  }

  joinMulticast(group: string, ifname: string): void {
    this.handle.joinMulticast(group, ifname);
  }

  leaveMulticast(group: string, ifname: string): void {
    this.handle.leaveMulticast(group, ifname);
  }

  setMulticastInterface(ifname: string): void {
    this.handle.setMulticastInterface(ifname);
  }

  setMulticastLoop(on: boolean): void {
    this.handle.setMulticastLoop(on);
  }

  /** IPv6 only: the kernel computes (and checks) the checksum at this payload offset. */
  setChecksumOffset(offset: number): void {
    this.handle.setChecksumOffset(offset);
  }

  /** Sends one datagram; IPv6 link-local destinations are scoped to the socket's interface. */
  send(payload: Buffer, destination: string): void {
    this.handle.send(payload, destination);
  }

  /** Delivers every datagram received to `onDatagram` until stop() or close(). */
  receive(onDatagram: (datagram: RawDatagram) => void): void {
    this.handle.start((payload, info) =>
      onDatagram({
        payload,
        source: info.source,
        destination: info.destination,
        ttl: info.ttl,
        tos: info.tos ?? -1,
        ifindex: info.ifindex,
      }),
    );
  }

  stop(): void {
    this.handle.stop();
  }

  /** Lets the process exit even while receiving (like net.Server#unref). */
  unref(): void {
    this.handle.unref();
  }

  ref(): void {
    this.handle.ref();
  }

  close(): void {
    this.handle.close();
  }
}
