import { canonicalAddress, ipFamily } from '../../net/address.js';
import type { Clock } from '../../time/clock.js';
import type {
  EndpointSpec,
  IpFamily,
  OutgoingPacket,
  ReceivedPacket,
  VrrpEndpoint,
  VrrpTransport,
} from '../io.js';

/** One packet as it went onto the in-memory wire. */
export interface WirePacket extends OutgoingPacket {
  readonly from: string;
  readonly at: number;
}

interface OpenEndpoint {
  readonly node: string;
  readonly spec: EndpointSpec;
  readonly onPacket: (packet: ReceivedPacket) => void;
  closed: boolean;
}

/**
 * A shared L2 segment per interface name connecting several engines' nodes.
 * Delivery goes through the clock (after `latencyMs`), never inside `send`.
 * Tests can partition nodes, drop or rewrite packets, and read what was sent.
 */
export class MemoryNetwork {
  readonly sent: WirePacket[] = [];
  private readonly endpoints: OpenEndpoint[] = [];
  private readonly cut = new Set<string>();
  private readonly clock: Clock;
  private readonly latencyMs: number;
  /** Returns false to drop, or a changed packet to deliver instead. */
  filter: ((packet: WirePacket, to: string) => boolean | ReceivedPacket) | undefined;

  constructor(clock: Clock, latencyMs = 0) {
    this.clock = clock;
    this.latencyMs = latencyMs;
  }

  /** A transport for `node`, whose interfaces carry `addresses` (first per family is primary). */
  attach(node: string, addresses: Readonly<Record<string, readonly string[]>>): VrrpTransport {
    return {
      open: (spec, onPacket) => {
        const entry: OpenEndpoint = { node, spec, onPacket, closed: false };
        this.endpoints.push(entry);
        const endpoint: VrrpEndpoint = {
          send: (packet) => this.send(node, packet),
          close: () => {
            entry.closed = true;
          },
        };
        return endpoint;
      },
      primaryAddress: (iface: string, family: IpFamily) =>
        addresses[iface]?.find((a) => ipFamily(a) === family),
    };
  }

  /** Stops traffic between `a` and `b` (both directions) until `heal`. */
  partition(a: string, b: string): void {
    this.cut.add(`${a}|${b}`);
    this.cut.add(`${b}|${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Sent packets from `node` (all nodes when omitted). */
  sentBy(node?: string): WirePacket[] {
    return node === undefined ? [...this.sent] : this.sent.filter((p) => p.from === node);
  }

  private send(from: string, packet: OutgoingPacket): void {
    const wire: WirePacket = { ...packet, from, at: this.clock.now() };
    this.sent.push(wire);
    const multicast = packet.destination === '224.0.0.18' || packet.destination === 'ff02::12';
    for (const endpoint of this.endpoints) {
      if (endpoint.closed || endpoint.node === from) continue;
      if (endpoint.spec.interface !== packet.interface) continue;
      if (endpoint.spec.family !== ipFamily(packet.destination)) continue;
      if (multicast !== (endpoint.spec.unicastSource === undefined)) continue;
      if (!multicast && canonicalAddress(packet.destination) !== endpoint.spec.unicastSource)
        continue;
      if (this.cut.has(`${from}|${endpoint.node}`)) continue;
      let received: ReceivedPacket = {
        source: packet.source,
        destination: packet.destination,
        ttlOrHopLimit: packet.ttlOrHopLimit,
        payload: Buffer.from(packet.payload),
        interface: packet.interface,
      };
      if (this.filter) {
        const verdict = this.filter(wire, endpoint.node);
        if (verdict === false) continue;
        if (verdict !== true) received = verdict;
      }
      const target = endpoint;
      const delivered = received;
      this.clock.setTimer(this.latencyMs, () => {
        if (!target.closed) target.onPacket(delivered);
      });
    }
  }
}
