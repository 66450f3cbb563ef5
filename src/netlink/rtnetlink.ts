import { LbctlError } from '../errors.js';
import {
  type AddressScope,
  addressToBytes,
  bytesToAddress,
  requireFamily,
} from '../net/address.js';
import { macToString } from '../net/mac.js';
import { NETLINK_ROUTE, NetlinkConnection, NetlinkEvents } from './connection.js';
import {
  type Attribute,
  attributeString,
  decodeAttributes,
  type NetlinkMessage,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  stringAttribute,
  u32Attribute,
} from './message.js';

/** rtnetlink(7): addresses, routes and links. */
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_TABLE = 15;

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const IFF_LOWER_UP = 0x10000;
const RTNLGRP_LINK = 1;

const AF_INET = 2;
const AF_INET6 = 10;
const RT_TABLE_MAIN = 254;
const RTN_UNICAST = 1;
const RTPROT_STATIC = 4;

const scopeValues: Record<AddressScope, number> = {
  global: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

export interface InterfaceAddress {
  ifindex: number;
  address: string;
  prefixLength: number;
  family: 4 | 6;
  scope: number;
  label?: string;
  broadcast?: string;
}

export interface AddressSpec {
  ifindex: number;
  address: string;
  prefixLength: number;
  /** IPv4 broadcast address. */
  broadcast?: string;
  /** IPv4 label such as "eth0:1" (keepalived's `label`). */
  label?: string;
  scope?: AddressScope;
}

export interface RouteSpec {
  /** Destination with prefix, e.g. "10.1.0.0/16", or "default". */
  destination: string;
  gateway?: string;
  ifindex?: number;
  source?: string;
  metric?: number;
  table?: number;
  scope?: AddressScope;
}

export interface LinkInfo {
  index: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP) and operational (IFF_RUNNING). */
  running: boolean;
  mac: string | undefined;
  mtu: number | undefined;
}

const familyOf = (address: string) => requireFamily(address);
const afOf = (family: 4 | 6) => (family === 4 ? AF_INET : AF_INET6);

function ifaddrmsg(family: 4 | 6, prefixLength: number, scope: number, ifindex: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt8(afOf(family), 0);
  h.writeUInt8(prefixLength, 1);
  h.writeUInt8(0, 2);
  h.writeUInt8(scope, 3);
  h.writeUInt32LE(ifindex, 4);
  return h;
}

/** Addresses, routes and link state of the namespace this process runs in. */
export class RouteNetlink {
  private readonly connection = new NetlinkConnection(NETLINK_ROUTE);

  /** Adds an address; an identical address already present is not an error. */
  async addAddress(spec: AddressSpec): Promise<void> {
    const family = familyOf(spec.address);
    const attrs: Attribute[] = [
      { type: IFA_LOCAL, value: addressToBytes(spec.address) },
      { type: IFA_ADDRESS, value: addressToBytes(spec.address) },
    ];
    if (spec.broadcast !== undefined)
      attrs.push({ type: IFA_BROADCAST, value: addressToBytes(spec.broadcast) });
    if (spec.label !== undefined) attrs.push(stringAttribute(IFA_LABEL, spec.label));
    await this.connection.request(
      `add address ${spec.address}/${spec.prefixLength}`,
      RTM_NEWADDR,
      NLM_F_CREATE | NLM_F_REPLACE,
      ifaddrmsg(family, spec.prefixLength, scopeValues[spec.scope ?? 'global'], spec.ifindex),
      attrs,
    );
  }

  /** Removes an address; false when it was not there. */
  async deleteAddress(
    spec: Pick<AddressSpec, 'ifindex' | 'address' | 'prefixLength'>,
  ): Promise<boolean> {
    const family = familyOf(spec.address);
    try {
      await this.connection.request(
        `delete address ${spec.address}/${spec.prefixLength}`,
        RTM_DELADDR,
        0,
        ifaddrmsg(family, spec.prefixLength, 0, spec.ifindex),
        [{ type: IFA_LOCAL, value: addressToBytes(spec.address) }],
      );
      return true;
    } catch (err) {
      if (
        err instanceof LbctlError &&
        'errno' in err &&
        (err.errno === 99 /* EADDRNOTAVAIL */ || err.errno === 19)
      ) {
        return false;
      }
      throw err;
    }
  }

  async listAddresses(ifindex?: number): Promise<InterfaceAddress[]> {
    const replies = await this.connection.request(
      'list addresses',
      RTM_GETADDR,
      NLM_F_DUMP,
      ifaddrmsg(4, 0, 0, 0).fill(0),
    );
    const out: InterfaceAddress[] = [];
    for (const msg of replies) {
      if (msg.type !== RTM_NEWADDR) continue;
      const address = parseAddress(msg);
      if (address !== undefined && (ifindex === undefined || address.ifindex === ifindex))
        out.push(address);
    }
    return out;
  }

  async addRoute(route: RouteSpec): Promise<void> {
    const { header, attrs } = routeMessage(route);
    await this.connection.request(
      `add route ${route.destination}`,
      RTM_NEWROUTE,
      NLM_F_CREATE | NLM_F_EXCL,
      header,
      attrs,
    );
  }

  /** Removes a route; false when it was not there. */
  async deleteRoute(route: RouteSpec): Promise<boolean> {
    const { header, attrs } = routeMessage(route);
    try {
      await this.connection.request(
        `delete route ${route.destination}`,
        RTM_DELROUTE,
        0,
        header,
        attrs,
      );
      return true;
    } catch (err) {
      if (err instanceof LbctlError && 'errno' in err && err.errno === 3 /* ESRCH */) return false;
      throw err;
    }
  }

  /** The destinations ("addr/len") of the routes in one table, both families. */
  async listRouteDestinations(table: number): Promise<string[]> {
    const out: string[] = [];
    for (const family of [AF_INET, AF_INET6]) {
      const header = Buffer.alloc(12);
      header.writeUInt8(family, 0);
      const replies = await this.connection.request(
        `list the routes of table ${table}`,
        RTM_GETROUTE,
        NLM_F_DUMP,
        header,
      );
      for (const msg of replies) {
        if (msg.type !== RTM_NEWROUTE) continue;
        const attrs = decodeAttributes(msg.body, 12);
        const inTable = attrs.get(RTA_TABLE)?.readUInt32LE(0) ?? msg.body.readUInt8(4);
        const dst = attrs.get(RTA_DST);
        if (inTable === table && dst !== undefined)
          out.push(`${bytesToAddress(dst)}/${msg.body.readUInt8(1)}`);
      }
    }
    return out;
  }

  async listLinks(): Promise<LinkInfo[]> {
    const replies = await this.connection.request(
      'list links',
      RTM_GETLINK,
      NLM_F_DUMP,
      Buffer.alloc(16),
    );
    return replies.filter((m) => m.type === RTM_NEWLINK).map(parseLink);
  }

  async link(name: string): Promise<LinkInfo> {
    const found = (await this.listLinks()).find((l) => l.name === name);
    if (found === undefined)
      throw new LbctlError('NO_SUCH_INTERFACE', `Cannot find interface ${name}: no such interface`);
    return found;
  }

  close(): void {
    this.connection.close();
  }
}

/** Link state changes (RTNLGRP_LINK) as they happen. */
export function watchLinks(
  onChange: (link: LinkInfo, removed: boolean) => void,
  onLost?: () => void,
): { close(): void } {
  return new NetlinkEvents(
    NETLINK_ROUTE,
    [RTNLGRP_LINK],
    (msg) => {
      if (msg.type === RTM_NEWLINK || msg.type === RTM_DELLINK)
        onChange(parseLink(msg), msg.type === RTM_DELLINK);
    },
    onLost,
  );
}

function parseLink(msg: NetlinkMessage): LinkInfo {
  const flags = msg.body.readUInt32LE(8);
  const attrs = decodeAttributes(msg.body, 16);
  const mac = attrs.get(IFLA_ADDRESS);
  const mtu = attrs.get(IFLA_MTU);
  return {
    index: msg.body.readInt32LE(4),
    name: attributeString(attrs.get(IFLA_IFNAME)) ?? '',
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0 && (flags & IFF_LOWER_UP) !== 0,
    mac: mac?.length === 6 ? macToString(mac) : undefined,
    mtu: mtu?.readUInt32LE(0),
  };
}

function parseAddress(msg: NetlinkMessage): InterfaceAddress | undefined {
  const family = msg.body.readUInt8(0);
  const attrs = decodeAttributes(msg.body, 8);
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (raw === undefined || (family !== AF_INET && family !== AF_INET6)) return undefined;
  const label = attributeString(attrs.get(IFA_LABEL));
  const broadcast = attrs.get(IFA_BROADCAST);
  return {
    ifindex: msg.body.readUInt32LE(4),
    address: bytesToAddress(raw),
    prefixLength: msg.body.readUInt8(1),
    family: family === AF_INET ? 4 : 6,
    scope: msg.body.readUInt8(3),
    ...(label === undefined ? {} : { label }),
    ...(broadcast === undefined ? {} : { broadcast: bytesToAddress(broadcast) }),
  };
}

function routeMessage(route: RouteSpec): { header: Buffer; attrs: Attribute[] } {
  const [dst = '', lenText] =
    route.destination === 'default' ? ['', '0'] : route.destination.split('/');
  const family: 4 | 6 =
    dst === '' ? familyOf(route.gateway ?? route.source ?? '0.0.0.0') : familyOf(dst);
  const dstLen = lenText === undefined ? (family === 4 ? 32 : 128) : Number(lenText);
  const table = route.table ?? RT_TABLE_MAIN;
  const header = Buffer.alloc(12);
  header.writeUInt8(afOf(family), 0);
  header.writeUInt8(dstLen, 1);
  header.writeUInt8(table < 256 ? table : 0, 4);
  header.writeUInt8(RTPROT_STATIC, 5);
  const scope = route.scope ?? (route.gateway === undefined ? 'link' : 'global');
  header.writeUInt8(scopeValues[scope], 6);
  header.writeUInt8(RTN_UNICAST, 7);
  const attrs: Attribute[] = [u32Attribute(RTA_TABLE, table)];
  if (dst !== '') attrs.push({ type: RTA_DST, value: addressToBytes(dst) });
  if (route.gateway !== undefined)
    attrs.push({ type: RTA_GATEWAY, value: addressToBytes(route.gateway) });
  if (route.ifindex !== undefined) attrs.push(u32Attribute(RTA_OIF, route.ifindex));
  if (route.source !== undefined)
    attrs.push({ type: RTA_PREFSRC, value: addressToBytes(route.source) });
  if (route.metric !== undefined) attrs.push(u32Attribute(RTA_PRIORITY, route.metric));
  return { header, attrs };
}
