/**
 * Where packets to an address leave and whom they go to: a route lookup
 * (RTM_GETROUTE, as `ip route get`) and the neighbour table (RTM_GETNEIGH, as
 * `ip neigh`), with resolution triggered (NTF_USE, as a packet would) when
 * the neighbour is not known yet.
 */
import { LbctlError } from '../errors.js';
import { addressToBytes, bytesToAddress, requireFamily } from '../net/address.js';
import { macToString } from '../net/mac.js';
import { NETLINK_ROUTE, NetlinkConnection } from './connection.js';
import { decodeAttributes, type NetlinkMessage, NLM_F_CREATE, NLM_F_DUMP } from './message.js';

const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;
const RTM_NEWNEIGH = 28;
const RTM_GETNEIGH = 30;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PREFSRC = 7;
const NDA_DST = 1;
const NDA_LLADDR = 2;

const AF_INET = 2;
const AF_INET6 = 10;

export const ROUTE_TYPES: Record<number, string> = {
  1: 'unicast',
  2: 'local',
  3: 'broadcast',
  4: 'anycast',
  5: 'multicast',
  6: 'blackhole',
  7: 'unreachable',
  8: 'prohibit',
  9: 'throw',
};

/** Neighbour states with a usable link-layer address (NUD_VALID without NUD_NONE). */
const NUD_REACHABLE = 0x02;
const NUD_STALE = 0x04;
const NUD_DELAY = 0x08;
const NUD_PROBE = 0x10;
const NUD_NOARP = 0x40;
const NUD_PERMANENT = 0x80;
const NUD_USABLE = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_NOARP | NUD_PERMANENT;
const NUD_FAILED = 0x20;
const NTF_USE = 0x01;

export interface RouteAnswer {
  /** unicast, local, unreachable, ... */
  readonly type: string;
  readonly ifindex: number | undefined;
  readonly gateway: string | undefined;
  readonly preferredSource: string | undefined;
}

export interface Neighbour {
  readonly address: string;
  readonly ifindex: number;
  readonly mac: string | undefined;
  /** NUD_* bits. */
  readonly state: number;
  readonly usable: boolean;
  readonly failed: boolean;
}

const familyOf = (address: string) => requireFamily(address, 'look up');

/** Route and neighbour lookups in the namespace this process runs in. */
export class NeighbourTable {
  private readonly connection = new NetlinkConnection(NETLINK_ROUTE);

  /** The route the kernel would use to reach `address` (ip route get). */
  async route(address: string): Promise<RouteAnswer> {
    const family = familyOf(address);
    const header = Buffer.alloc(12);
    header.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
    header.writeUInt8(family === 4 ? 32 : 128, 1);
    const replies = await this.connection.request(
      `look up the route to ${address}`,
      RTM_GETROUTE,
      0,
      header,
      [{ type: RTA_DST, value: addressToBytes(address) }],
    );
    const reply = replies.find((m) => m.type === RTM_NEWROUTE);
    if (reply === undefined) {
      throw new LbctlError('NO_ROUTE', `Cannot look up the route to ${address}: no answer`);
    }
    return parseRoute(reply);
  }

  /** Neighbour entries, optionally only those on one interface. */
  async neighbours(ifindex?: number): Promise<Neighbour[]> {
    const replies = await this.connection.request(
      'list neighbours',
      RTM_GETNEIGH,
      NLM_F_DUMP,
      Buffer.alloc(12),
    );
    const out: Neighbour[] = [];
    for (const msg of replies) {
      if (msg.type !== RTM_NEWNEIGH) continue;
      const n = parseNeighbour(msg);
      if (n !== undefined && (ifindex === undefined || n.ifindex === ifindex)) out.push(n);
    }
    return out;
  }

  /** Asks the kernel to resolve `address` on `ifindex` now, as an outgoing packet would. */
  async triggerResolution(address: string, ifindex: number): Promise<void> {
    const family = familyOf(address);
    const header = Buffer.alloc(12);
    header.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
    header.writeInt32LE(ifindex, 4);
    header.writeUInt8(NTF_USE, 10);
    await this.connection.request(
      `resolve neighbour ${address}`,
      RTM_NEWNEIGH,
      NLM_F_CREATE,
      header,
      [{ type: NDA_DST, value: addressToBytes(address) }],
    );
  }

  close(): void {
    this.connection.close();
  }
}

function parseRoute(msg: NetlinkMessage): RouteAnswer {
  const attrs = decodeAttributes(msg.body, 12);
  const oif = attrs.get(RTA_OIF);
  const gateway = attrs.get(RTA_GATEWAY);
  const source = attrs.get(RTA_PREFSRC);
  return {
    type: ROUTE_TYPES[msg.body.readUInt8(7)] ?? `type ${msg.body.readUInt8(7)}`,
    ifindex: oif?.readUInt32LE(0),
    gateway: gateway === undefined ? undefined : bytesToAddress(gateway),
    preferredSource: source === undefined ? undefined : bytesToAddress(source),
  };
}

function parseNeighbour(msg: NetlinkMessage): Neighbour | undefined {
  const af = msg.body.readUInt8(0);
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const attrs = decodeAttributes(msg.body, 12);
  const dst = attrs.get(NDA_DST);
  if (dst === undefined) return undefined;
  const lladdr = attrs.get(NDA_LLADDR);
  const state = msg.body.readUInt16LE(8);
  const mac = lladdr?.length === 6 ? macToString(lladdr) : undefined;
  return {
    address: bytesToAddress(dst),
    ifindex: msg.body.readInt32LE(4),
    mac,
    state,
    usable: mac !== undefined && (state & NUD_USABLE) !== 0,
    failed: (state & NUD_FAILED) !== 0,
  };
}
