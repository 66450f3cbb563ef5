/**
 * Kernel IPVS over its generic netlink family "IPVS" (include/uapi/linux/ip_vs.h):
 * services and their destinations as typed records, encoded and decoded
 * here and nowhere else. Multi-byte values are host order except ports
 * (network order) and the IPv4 persistence netmask (a network-order mask).
 */
import { isDeepStrictEqual } from 'node:util';
import { LbctlError } from '../../errors.js';
import { addressToBytes, bytesToAddress, ipFamily } from '../../net/address.js';
import { GenericNetlinkFamily, genlAttributes } from '../../netlink/genetlink.js';
import {
  type Attribute,
  attributeString,
  decodeAttributes,
  encodeAttributes,
  NLM_F_DUMP,
  stringAttribute,
  u32Attribute,
} from '../../netlink/message.js';
import {
  type Forwarding,
  PLAIN_IPIP,
  type Protocol,
  type Timeouts,
  type TunnelChecksum,
  type TunnelEncapsulation,
  type TunnelType,
} from '../dataplane.js';

const CMD = {
  newService: 1,
  setService: 2,
  delService: 3,
  getService: 4,
  newDest: 5,
  setDest: 6,
  delDest: 7,
  getDest: 8,
  newDaemon: 9,
  delDaemon: 10,
  getDaemon: 11,
  setConfig: 12,
  getConfig: 13,
  getInfo: 15,
} as const;
const INFO = { version: 1, connTableSize: 2 } as const;

const CMD_ATTR = {
  service: 1,
  dest: 2,
  daemon: 3,
  timeoutTcp: 4,
  timeoutTcpFin: 5,
  timeoutUdp: 6,
} as const;
const DAEMON = {
  state: 1,
  mcastIfn: 2,
  syncId: 3,
  syncMaxlen: 4,
  mcastGroup: 5,
  mcastGroup6: 6,
  mcastPort: 7,
  mcastTtl: 8,
} as const;
/** IP_VS_STATE_MASTER / _BACKUP. */
const DAEMON_STATE = { master: 1, backup: 2 } as const;
const SVC = {
  af: 1,
  protocol: 2,
  addr: 3,
  port: 4,
  fwmark: 5,
  schedName: 6,
  flags: 7,
  timeout: 8,
  netmask: 9,
  stats: 10,
  stats64: 12,
} as const;
const DEST = {
  addr: 1,
  port: 2,
  fwdMethod: 3,
  weight: 4,
  upperThreshold: 5,
  lowerThreshold: 6,
  activeConns: 7,
  inactiveConns: 8,
  persistConns: 9,
  stats: 10,
  addrFamily: 11,
  stats64: 12,
  tunType: 13,
  tunPort: 14,
  tunFlags: 15,
} as const;
/** IP_VS_CONN_F_TUNNEL_TYPE_* and IP_VS_TUNNEL_ENCAP_FLAG_*. */
const TUN_TYPES: Record<TunnelType, number> = { ipip: 0, gue: 1, gre: 2 };
const TUN_FLAGS: Record<TunnelChecksum, number> = { nocsum: 0, csum: 1, remcsum: 2 };
const STATS = {
  conns: 1,
  inPkts: 2,
  outPkts: 3,
  inBytes: 4,
  outBytes: 5,
  cps: 6,
  inPps: 7,
  outPps: 8,
  inBps: 9,
  outBps: 10,
} as const;

const NLA_F_NESTED = 0x8000;
const AF_INET = 2;
const AF_INET6 = 10;
const PROTOCOLS: Record<Protocol, number> = { tcp: 6, udp: 17, sctp: 132 };
/** IP_VS_CONN_F_MASQ, _TUNNEL, _DROUTE. */
const FORWARDING: Record<Forwarding, number> = { nat: 0, tun: 2, dr: 3 };
const IP_VS_CONN_F_FWD_MASK = 7;
const IP_VS_CONN_F_LOCALNODE = 1;
const IP_VS_SVC_F_PERSISTENT = 0x1;
/** IP_VS_SVC_F_SCHED1/2: sh-fallback / mh-fallback and sh-port / mh-port. */
export const IP_VS_SVC_F_SCHED_FALLBACK = 0x8;
export const IP_VS_SVC_F_SCHED_PORT = 0x10;
const SCHED_FLAGS = 0x8 | 0x10 | 0x20;

/** Identifies a kernel service: an address, port and protocol, or a firewall mark. */
export type IpvsServiceKey =
  | {
      readonly family: 4 | 6;
      readonly protocol: Protocol;
      readonly vip: string;
      readonly port: number;
    }
  | { readonly family: 4 | 6; readonly fwmark: number };

export interface IpvsService {
  readonly key: IpvsServiceKey;
  readonly scheduler: string;
  /** IP_VS_SVC_F_* bits; PERSISTENT follows `persistenceS`. */
  readonly schedulerFlags: number;
  /** 0 = not persistent. */
  readonly persistenceS: number;
  /** Persistence granularity as a prefix length. */
  readonly prefixLength: number;
}

export interface IpvsStats {
  readonly connections: number;
  /** In + out, as the DataPlane counters sum them. */
  readonly packets: number;
  readonly bytes: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
  /** The kernel's own rate estimator (ipvsadm --rate): per second, over about 2 s. */
  readonly connectionsPerSecond: number;
  readonly inPacketsPerSecond: number;
  readonly outPacketsPerSecond: number;
  readonly inBytesPerSecond: number;
  readonly outBytesPerSecond: number;
}

export interface IpvsDest {
  readonly address: string;
  readonly port: number;
  readonly forwarding: Forwarding;
  readonly weight: number;
  /** 0: no limit. */
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** TUN only (the kernel keeps IPIP for the others). */
  readonly tunnel: TunnelEncapsulation;
}

export interface IpvsDestState extends IpvsDest {
  /** The kernel delivers to the director itself (IP_VS_CONN_F_LOCALNODE: a local address). */
  readonly local: boolean;
  readonly activeConnections: number;
  readonly inactiveConnections: number;
  readonly persistentConnections: number;
  readonly stats: IpvsStats;
}

export interface IpvsServiceState extends IpvsService {
  readonly stats: IpvsStats;
}

export function ipvsKeyName(key: IpvsServiceKey): string {
  if ('fwmark' in key) return `FWM ${key.fwmark}${key.family === 6 ? ' IPv6' : ''}`;
  const host = key.family === 6 ? `[${key.vip}]` : key.vip;
  return `${key.protocol.toUpperCase()} ${host}:${key.port}`;
}

const u16 = (type: number, value: number): Attribute => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return { type, value: b };
};
const be16 = (type: number, value: number): Attribute => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return { type, value: b };
};
const nested = (type: number, attributes: readonly Attribute[]): Attribute => ({
  type: type | NLA_F_NESTED,
  value: encodeAttributes(attributes),
});
/** The kernel reads addresses as union nf_inet_addr: 16 bytes, IPv4 in the first 4. */
const address16 = (address: string): Buffer => {
  const out = Buffer.alloc(16);
  addressToBytes(address).copy(out);
  return out;
};
const afOf = (family: 4 | 6) => (family === 4 ? AF_INET : AF_INET6);

function keyAttributes(key: IpvsServiceKey): Attribute[] {
  const af = u16(SVC.af, afOf(key.family));
  if ('fwmark' in key) return [af, u32Attribute(SVC.fwmark, key.fwmark)];
  return [
    af,
    u16(SVC.protocol, PROTOCOLS[key.protocol]),
    { type: SVC.addr, value: address16(key.vip) },
    be16(SVC.port, key.port),
  ];
}

function netmaskValue(family: 4 | 6, prefixLength: number): Buffer {
  const b = Buffer.alloc(4);
  if (family === 6) b.writeUInt32LE(prefixLength);
  else b.writeUInt32BE(prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0);
  return b;
}

function prefixOf(family: 4 | 6, value: Buffer | undefined): number {
  if (value === undefined) return family === 4 ? 32 : 128;
  if (family === 6) return value.readUInt32LE(0);
  let mask = value.readUInt32BE(0);
  let bits = 0;
  while (mask & 0x80000000) {
    bits++;
    mask = (mask << 1) >>> 0;
  }
  return bits;
}

function serviceAttributes(service: IpvsService): Attribute {
  const flags = Buffer.alloc(8);
  const persistent = service.persistenceS > 0 ? IP_VS_SVC_F_PERSISTENT : 0;
  flags.writeUInt32LE((service.schedulerFlags & SCHED_FLAGS) | persistent, 0);
  flags.writeUInt32LE(0xffffffff, 4); // mask: every flag is set as given
  return nested(CMD_ATTR.service, [
    ...keyAttributes(service.key),
    stringAttribute(SVC.schedName, service.scheduler),
    { type: SVC.flags, value: flags },
    u32Attribute(SVC.timeout, service.persistenceS),
    { type: SVC.netmask, value: netmaskValue(service.key.family, service.prefixLength) },
  ]);
}

function destAttributes(family: 4 | 6, dest: IpvsDest | { address: string; port: number }) {
  const destFamily = ipFamily(dest.address) ?? family;
  const base: Attribute[] = [
    { type: DEST.addr, value: address16(dest.address) },
    be16(DEST.port, dest.port),
  ];
  // A TUN real of the other family needs its own family (kernels from 5.3 read it).
  if (destFamily !== family) base.push(u16(DEST.addrFamily, afOf(destFamily)));
  if (!('weight' in dest)) return nested(CMD_ATTR.dest, base);
  return nested(CMD_ATTR.dest, [
    ...base,
    u32Attribute(DEST.fwdMethod, FORWARDING[dest.forwarding]),
    u32Attribute(DEST.weight, dest.weight),
    u32Attribute(DEST.upperThreshold, dest.upperThreshold),
    u32Attribute(DEST.lowerThreshold, dest.lowerThreshold),
    ...tunnelAttributes(dest.tunnel),
  ]);
}

/** Sent only when not plain IPIP, so kernels before 5.2 (which lack them) still take IPIP reals. */
function tunnelAttributes(tunnel: TunnelEncapsulation): Attribute[] {
  if (isDeepStrictEqual(tunnel, PLAIN_IPIP)) return [];
  const type = Buffer.alloc(1);
  type[0] = TUN_TYPES[tunnel.type];
  return [
    { type: DEST.tunType, value: type },
    be16(DEST.tunPort, tunnel.port ?? 0),
    u16(DEST.tunFlags, TUN_FLAGS[tunnel.checksum]),
  ];
}

function decodeTunnel(a: Map<number, Buffer>): TunnelEncapsulation {
  const typeNumber = a.get(DEST.tunType)?.readUInt8(0) ?? 0;
  const flags = a.get(DEST.tunFlags)?.readUInt16LE(0) ?? 0;
  const port = a.get(DEST.tunPort)?.readUInt16BE(0) ?? 0;
  const type = (Object.keys(TUN_TYPES) as TunnelType[]).find((t) => TUN_TYPES[t] === typeNumber);
  const checksum = (Object.keys(TUN_FLAGS) as TunnelChecksum[]).find((c) => TUN_FLAGS[c] === flags);
  return {
    type: type ?? 'ipip',
    ...(port !== 0 ? { port } : {}),
    checksum: checksum ?? 'nocsum',
  };
}

const u64 = (b: Buffer | undefined) => (b === undefined ? 0 : Number(b.readBigUInt64LE(0)));
const u32 = (b: Buffer | undefined) => (b === undefined ? 0 : b.readUInt32LE(0));

function decodeStats(stats64: Buffer | undefined, stats32: Buffer | undefined): IpvsStats {
  // The 32-bit set has 32-bit counters but 64-bit byte counts.
  const wide = stats64 !== undefined;
  const a = decodeAttributes(stats64 ?? stats32 ?? Buffer.alloc(0));
  const n = (type: number) => (wide ? u64(a.get(type)) : u32(a.get(type)));
  const inPackets = n(STATS.inPkts);
  const outPackets = n(STATS.outPkts);
  const inBytes = u64(a.get(STATS.inBytes));
  const outBytes = u64(a.get(STATS.outBytes));
  return {
    connections: n(STATS.conns),
    packets: inPackets + outPackets,
    bytes: inBytes + outBytes,
    inPackets,
    outPackets,
    inBytes,
    outBytes,
    connectionsPerSecond: n(STATS.cps),
    inPacketsPerSecond: n(STATS.inPps),
    outPacketsPerSecond: n(STATS.outPps),
    inBytesPerSecond: wide ? u64(a.get(STATS.inBps)) : u32(a.get(STATS.inBps)),
    outBytesPerSecond: wide ? u64(a.get(STATS.outBps)) : u32(a.get(STATS.outBps)),
  };
}

const familyOfAf = (af: number): 4 | 6 => (af === AF_INET6 ? 6 : 4);
const addressOf = (family: 4 | 6, value: Buffer | undefined) =>
  bytesToAddress((value ?? Buffer.alloc(16)).subarray(0, family === 4 ? 4 : 16));

function decodeService(value: Buffer): IpvsServiceState | undefined {
  const a = decodeAttributes(value);
  const af = a.get(SVC.af);
  if (af === undefined) return undefined;
  const family = familyOfAf(af.readUInt16LE(0));
  const fwmark = u32(a.get(SVC.fwmark));
  const protocolNumber = a.get(SVC.protocol)?.readUInt16LE(0) ?? 0;
  const protocol = (Object.keys(PROTOCOLS) as Protocol[]).find(
    (p) => PROTOCOLS[p] === protocolNumber,
  );
  let key: IpvsServiceKey;
  if (fwmark !== 0) key = { family, fwmark };
  else if (protocol !== undefined)
    key = {
      family,
      protocol,
      vip: addressOf(family, a.get(SVC.addr)),
      port: a.get(SVC.port)?.readUInt16BE(0) ?? 0,
    };
  else return undefined; // a protocol lbctl does not speak (e.g. AH/ESP): not ours
  const flags = u32(a.get(SVC.flags));
  return {
    key,
    scheduler: attributeString(a.get(SVC.schedName)) ?? '',
    schedulerFlags: flags & SCHED_FLAGS,
    persistenceS: (flags & IP_VS_SVC_F_PERSISTENT) !== 0 ? u32(a.get(SVC.timeout)) : 0,
    prefixLength: prefixOf(family, a.get(SVC.netmask)),
    stats: decodeStats(a.get(SVC.stats64), a.get(SVC.stats)),
  };
}

function decodeDest(family: 4 | 6, value: Buffer): IpvsDestState {
  const a = decodeAttributes(value);
  const destAf = a.get(DEST.addrFamily);
  const destFamily = destAf !== undefined ? familyOfAf(destAf.readUInt16LE(0)) : family;
  const method = u32(a.get(DEST.fwdMethod)) & IP_VS_CONN_F_FWD_MASK;
  const forwarding = (Object.keys(FORWARDING) as Forwarding[]).find(
    (f) => FORWARDING[f] === method,
  );
  return {
    address: addressOf(destFamily, a.get(DEST.addr)),
    port: a.get(DEST.port)?.readUInt16BE(0) ?? 0,
    // The kernel makes a DR/TUN real on a local address LOCALNODE: lbctl set it as DR.
    forwarding: forwarding ?? 'dr',
    local: method === IP_VS_CONN_F_LOCALNODE,
    weight: u32(a.get(DEST.weight)),
    upperThreshold: u32(a.get(DEST.upperThreshold)),
    lowerThreshold: u32(a.get(DEST.lowerThreshold)),
    tunnel: decodeTunnel(a),
    activeConnections: u32(a.get(DEST.activeConns)),
    inactiveConnections: u32(a.get(DEST.inactiveConns)),
    persistentConnections: u32(a.get(DEST.persistConns)),
    stats: decodeStats(a.get(DEST.stats64), a.get(DEST.stats)),
  };
}

/** One of the kernel's sync daemons (ipvsadm --start-daemon), as keepalived starts it. */
export interface IpvsSyncDaemon {
  readonly state: 'master' | 'backup';
  readonly interface: string;
  readonly syncId: number;
  /** Unset: the kernel's default (from the interface MTU). */
  readonly maxLength?: number;
  readonly group: string;
  readonly port: number;
  readonly ttl: number;
}

function daemonAttributes(d: IpvsSyncDaemon): Attribute {
  const group = addressToBytes(d.group);
  const ttl = Buffer.alloc(1);
  ttl[0] = d.ttl;
  return nested(CMD_ATTR.daemon, [
    u32Attribute(DAEMON.state, DAEMON_STATE[d.state]),
    stringAttribute(DAEMON.mcastIfn, d.interface),
    u32Attribute(DAEMON.syncId, d.syncId),
    ...(d.maxLength !== undefined ? [u16(DAEMON.syncMaxlen, d.maxLength)] : []),
    { type: group.length === 4 ? DAEMON.mcastGroup : DAEMON.mcastGroup6, value: group },
    u16(DAEMON.mcastPort, d.port),
    { type: DAEMON.mcastTtl, value: ttl },
  ]);
}

/** The kernel's IPVS table, through one genetlink socket. */
export class IpvsNetlink {
  private constructor(private readonly genl: GenericNetlinkFamily) {}

  /** Throws IPVS_UNAVAILABLE when the running kernel has no IPVS. */
  static async open(): Promise<IpvsNetlink> {
    try {
      return new IpvsNetlink(await GenericNetlinkFamily.open('IPVS'));
    } catch (err) {
      if (err instanceof LbctlError && err.code === 'GENL_FAMILY_MISSING') {
        throw new LbctlError(
          'IPVS_UNAVAILABLE',
          'The running kernel has no IPVS: load it with `modprobe ip_vs` (and the ip_vs_<scheduler> modules), or use a kernel built with CONFIG_IP_VS',
        );
      }
      throw err;
    }
  }

  async services(): Promise<IpvsServiceState[]> {
    const replies = await this.genl.request('list IPVS services', CMD.getService, NLM_F_DUMP);
    const out: IpvsServiceState[] = [];
    for (const msg of replies) {
      const value = genlAttributes(msg).get(CMD_ATTR.service);
      const service = value !== undefined ? decodeService(value) : undefined;
      if (service !== undefined) out.push(service);
    }
    return out;
  }

  async dests(key: IpvsServiceKey): Promise<IpvsDestState[]> {
    const replies = await this.genl.request(
      `list the reals of IPVS service ${ipvsKeyName(key)}`,
      CMD.getDest,
      NLM_F_DUMP,
      [nested(CMD_ATTR.service, keyAttributes(key))],
    );
    const out: IpvsDestState[] = [];
    for (const msg of replies) {
      const value = genlAttributes(msg).get(CMD_ATTR.dest);
      if (value !== undefined) out.push(decodeDest(key.family, value));
    }
    return out;
  }

  async addService(service: IpvsService): Promise<void> {
    await this.genl.request(`add IPVS service ${ipvsKeyName(service.key)}`, CMD.newService, 0, [
      serviceAttributes(service),
    ]);
  }

  async updateService(service: IpvsService): Promise<void> {
    await this.genl.request(`update IPVS service ${ipvsKeyName(service.key)}`, CMD.setService, 0, [
      serviceAttributes(service),
    ]);
  }

  async deleteService(key: IpvsServiceKey): Promise<void> {
    await this.genl.request(`delete IPVS service ${ipvsKeyName(key)}`, CMD.delService, 0, [
      nested(CMD_ATTR.service, keyAttributes(key)),
    ]);
  }

  async addDest(key: IpvsServiceKey, dest: IpvsDest): Promise<void> {
    await this.destRequest('add', CMD.newDest, key, dest);
  }

  async updateDest(key: IpvsServiceKey, dest: IpvsDest): Promise<void> {
    await this.destRequest('update', CMD.setDest, key, dest);
  }

  async deleteDest(key: IpvsServiceKey, address: string, port: number): Promise<void> {
    await this.destRequest('delete', CMD.delDest, key, { address, port });
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    await this.genl.request('set the IPVS timeouts', CMD.setConfig, 0, [
      u32Attribute(CMD_ATTR.timeoutTcp, timeouts.tcpS),
      u32Attribute(CMD_ATTR.timeoutTcpFin, timeouts.tcpFinS),
      u32Attribute(CMD_ATTR.timeoutUdp, timeouts.udpS),
    ]);
  }

  async timeouts(): Promise<Timeouts> {
    const replies = await this.genl.request('read the IPVS timeouts', CMD.getConfig, 0);
    const a = replies[0] !== undefined ? genlAttributes(replies[0]) : new Map<number, Buffer>();
    return {
      tcpS: u32(a.get(CMD_ATTR.timeoutTcp)),
      tcpFinS: u32(a.get(CMD_ATTR.timeoutTcpFin)),
      udpS: u32(a.get(CMD_ATTR.timeoutUdp)),
    };
  }

  /** Entries of the kernel's connection hash table (ipvsadm's "size="). */
  async connectionTableSize(): Promise<number> {
    const replies = await this.genl.request('read the IPVS information', CMD.getInfo, 0);
    const a = replies[0] !== undefined ? genlAttributes(replies[0]) : new Map<number, Buffer>();
    return u32(a.get(INFO.connTableSize));
  }

  /** Starts the kernel's master or backup sync daemon (IPVS_CMD_NEW_DAEMON). */
  async startSyncDaemon(daemon: IpvsSyncDaemon): Promise<void> {
    await this.genl.request(
      `start the IPVS ${daemon.state} sync daemon on ${daemon.interface}`,
      CMD.newDaemon,
      0,
      [daemonAttributes(daemon)],
    );
  }

  /** Stops the kernel's master or backup sync daemon (IPVS_CMD_DEL_DAEMON). */
  async stopSyncDaemon(state: 'master' | 'backup'): Promise<void> {
    await this.genl.request(`stop the IPVS ${state} sync daemon`, CMD.delDaemon, 0, [
      nested(CMD_ATTR.daemon, [u32Attribute(DAEMON.state, DAEMON_STATE[state])]),
    ]);
  }

  /** Which sync daemons run (IPVS_CMD_GET_DAEMON). */
  async syncDaemons(): Promise<
    { state: 'master' | 'backup'; interface: string; syncId: number }[]
  > {
    const replies = await this.genl.request(
      'list the IPVS sync daemons',
      CMD.getDaemon,
      NLM_F_DUMP,
    );
    const out: { state: 'master' | 'backup'; interface: string; syncId: number }[] = [];
    for (const msg of replies) {
      const nestedValue = genlAttributes(msg).get(CMD_ATTR.daemon);
      if (nestedValue === undefined) continue;
      const a = decodeAttributes(nestedValue);
      const state = u32(a.get(DAEMON.state));
      out.push({
        state: state === DAEMON_STATE.master ? 'master' : 'backup',
        interface: attributeString(a.get(DAEMON.mcastIfn)) ?? '',
        syncId: u32(a.get(DAEMON.syncId)),
      });
    }
    return out;
  }

  close(): void {
    this.genl.close();
  }

  private async destRequest(
    verb: string,
    command: number,
    key: IpvsServiceKey,
    dest: IpvsDest | { address: string; port: number },
  ): Promise<void> {
    const host = dest.address.includes(':') ? `[${dest.address}]` : dest.address;
    await this.genl.request(
      `${verb} real ${host}:${dest.port} of IPVS service ${ipvsKeyName(key)}`,
      command,
      0,
      [nested(CMD_ATTR.service, keyAttributes(key)), destAttributes(key.family, dest)],
    );
  }
}
