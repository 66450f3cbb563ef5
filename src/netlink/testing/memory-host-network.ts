import { addressToBytes } from '../../net/address.js';
import type {
  HostNetwork,
  InterfaceAddress,
  LinkInfo,
  Neighbour,
  RouteAnswer,
} from '../host-network.js';

/** An on-link prefix or a gateway route of the in-memory host. */
export interface MemoryRoute {
  /** CIDR, e.g. "10.0.0.0/24"; the longest match wins. */
  readonly destination: string;
  readonly ifindex: number;
  readonly gateway?: string;
  /** unicast (default), local, unreachable, ... */
  readonly type?: string;
}

/**
 * A host network in memory: links, addresses, routes and a neighbour table
 * the test fills. Neighbours listed in `answering` appear (usable) when
 * resolution is triggered for them, like a host that answers ARP.
 */
export class MemoryHostNetwork implements HostNetwork {
  readonly links: LinkInfo[] = [];
  readonly addressList: InterfaceAddress[] = [];
  readonly routes: MemoryRoute[] = [];
  readonly neighbourList: Neighbour[] = [];
  /** Address -> MAC of hosts that answer address resolution. */
  readonly answering = new Map<string, string>();
  /** Every question asked, e.g. "route 10.0.0.11", for tests of who asks what when. */
  readonly asked: string[] = [];
  closed = false;

  addLink(name: string, mac: string | undefined, index = this.links.length + 1): LinkInfo {
    const link: LinkInfo = { index, name, up: true, running: true, mac, mtu: 1500 };
    this.links.push(link);
    return link;
  }

  addAddress(ifname: string, cidr: string, scope = 0): void {
    const [address = '', length] = cidr.split('/');
    const link = this.requireLink(ifname);
    const family = address.includes(':') ? 6 : 4;
    const prefixLength = Number(length ?? (family === 4 ? 32 : 128));
    this.addressList.push({ ifindex: link.index, address, prefixLength, family, scope });
    const local = family === 4 ? `${address}/32` : `${address}/128`;
    this.routes.push({ destination: local, ifindex: link.index, type: 'local' });
    if (scope === 0) this.routes.push({ destination: cidr, ifindex: link.index });
  }

  link(name: string): LinkInfo | undefined {
    return this.links.find((l) => l.name === name);
  }

  linkByIndex(ifindex: number): LinkInfo | undefined {
    return this.links.find((l) => l.index === ifindex);
  }

  async addresses(): Promise<readonly InterfaceAddress[]> {
    this.asked.push('addresses');
    return [...this.addressList];
  }

  async route(destination: string): Promise<RouteAnswer> {
    this.asked.push(`route ${destination}`);
    let best: MemoryRoute | undefined;
    let bestLength = -1;
    for (const route of this.routes) {
      const [network = '', length = '0'] = route.destination.split('/');
      const bits = Number(length);
      if (bits > bestLength && inPrefix(destination, network, bits)) {
        best = route;
        bestLength = bits;
      }
    }
    if (best === undefined) {
      return {
        type: 'unreachable',
        ifindex: undefined,
        gateway: undefined,
        preferredSource: undefined,
      };
    }
    return {
      type: best.type ?? 'unicast',
      ifindex: best.ifindex,
      gateway: best.gateway,
      preferredSource: undefined,
    };
  }

  async neighbours(ifindex: number): Promise<readonly Neighbour[]> {
    this.asked.push(`neighbours ${ifindex}`);
    return this.neighbourList.filter((n) => n.ifindex === ifindex);
  }

  async triggerResolution(address: string, ifindex: number): Promise<void> {
    this.asked.push(`resolve ${address}`);
    const mac = this.answering.get(address);
    if (mac === undefined) return;
    this.neighbourList.push({ address, ifindex, mac, state: 2, usable: true, failed: false });
  }

  close(): void {
    this.closed = true;
  }

  private requireLink(name: string): LinkInfo {
    const link = this.link(name);
    if (link === undefined) throw new Error(`MemoryHostNetwork: no link ${name}`);
    return link;
  }
}

function toBits(address: string): bigint {
  return addressToBytes(address).reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

function inPrefix(address: string, network: string, bits: number): boolean {
  const v6 = address.includes(':');
  if (v6 !== network.includes(':')) return false;
  const width = v6 ? 128n : 32n;
  const shift = width - BigInt(bits);
  return toBits(address) >> shift === toBits(network) >> shift;
}
