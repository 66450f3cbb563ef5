/**
 * Maps configured virtual servers to data-plane services: keepalived's names
 * (lb_kind, lb_algo, persistence_timeout/granularity, virtual_server_group)
 * become ServiceSpecs and forwarding methods. What the XDP data plane cannot
 * do is rejected here, before anything is applied.
 */
import { isIPv4 } from 'node:net';
import { formatEndpoint } from '../checkers/tcp-connect.js';
import type {
  AddressFamily,
  LbKind,
  VirtualServer,
  VirtualServerGroup,
  VirtualServerGroupEntry,
} from '../config/model.js';
import type {
  Forwarding,
  Persistence,
  Scheduler as PlaneScheduler,
  ServiceSpec,
} from '../dataplane/dataplane.js';
import { addressToBytes, bytesToAddress, canonicalAddress } from '../net/address.js';
import { UnsupportedServiceError } from './reconcile-error.js';

/** Schedulers the XDP data plane implements, under the same ipvsadm names. */
const XDP_SCHEDULERS: ReadonlySet<string> = new Set(['rr', 'wrr', 'sh', 'dh', 'mh']);

/** A virtual_server_group range is expanded address by address; beyond this it is a mistake. */
export const MAX_GROUP_ADDRESSES = 4096;

export interface MappedEndpoint {
  readonly address: string;
  readonly port: number;
  readonly forwarding: Forwarding;
}

/** One configured virtual server as data-plane services plus how each real is reached. */
export interface MappedVirtualServer {
  /** How logs, checks and scripts name it, e.g. "TCP 10.0.0.3:80" or "TCP group web". */
  readonly name: string;
  /** One per address of the target (a group gives several). */
  readonly services: readonly ServiceSpec[];
  /** Forwarding per real, keyed by realKey(address, port). */
  readonly reals: ReadonlyMap<string, MappedEndpoint>;
  readonly sorry?: MappedEndpoint;
  /** VIPs the services listen on (used to find owning VRRP instances and interfaces). */
  readonly vips: readonly string[];
}

export const realKey = (address: string, port: number): string => formatEndpoint(address, port);

export function forwardingOf(kind: LbKind): Forwarding {
  return kind === 'NAT' ? 'nat' : kind === 'TUN' ? 'tun' : 'dr';
}

export function virtualServerName(vs: VirtualServer): string {
  const t = vs.target;
  if (t.kind === 'address') return `${vs.protocol} ${formatEndpoint(t.address, t.port)}`;
  if (t.kind === 'fwmark') return `${vs.protocol} fwmark ${t.fwmark}`;
  return `${vs.protocol} group ${t.group}`;
}

export function mapVirtualServer(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
): MappedVirtualServer {
  const name = virtualServerName(vs);
  const reject = (reason: string): never => {
    throw new UnsupportedServiceError(
      `Cannot run virtual server ${name} on the XDP data plane: ${reason}`,
    );
  };
  if (vs.protocol === 'SCTP') reject('SCTP services need kernel IPVS');
  if (!XDP_SCHEDULERS.has(vs.scheduler)) {
    reject(
      `scheduler ${vs.scheduler} needs live connection counts or locality that only kernel IPVS ` +
        `has (the XDP data plane does ${[...XDP_SCHEDULERS].join(', ')})`,
    );
  }
  const protocol = vs.protocol === 'UDP' ? 'udp' : 'tcp';
  const scheduler = vs.scheduler as PlaneScheduler;
  const targets = serviceTargets(vs, groups, reject);
  const services = targets.map(({ address, family, port }): ServiceSpec => {
    const persistence = persistenceOf(vs, family, reject);
    if (port === 0 && persistence === undefined) {
      reject(`${address} has no port; an all-ports service must be persistent`);
    }
    return {
      vip: address,
      port,
      protocol,
      scheduler,
      ...(persistence !== undefined ? { persistence } : {}),
    };
  });
  const reals = new Map<string, MappedEndpoint>();
  for (const rs of vs.realServers) {
    const address = canonicalAddress(rs.address);
    reals.set(realKey(address, rs.port), {
      address,
      port: rs.port,
      forwarding: forwardingOf(rs.lbKind),
    });
  }
  const sorry = vs.sorryServer;
  return {
    name,
    services,
    reals,
    vips: [...new Set(services.map((s) => s.vip))],
    ...(sorry !== undefined
      ? {
          sorry: {
            address: canonicalAddress(sorry.address),
            port: sorry.port,
            forwarding: forwardingOf(sorry.lbKind),
          },
        }
      : {}),
  };
}

interface Target {
  readonly address: string;
  readonly family: AddressFamily;
  readonly port: number;
}

function serviceTargets(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
  reject: (reason: string) => never,
): Target[] {
  const t = vs.target;
  if (t.kind === 'address') {
    return [{ address: canonicalAddress(t.address), family: t.family, port: t.port }];
  }
  if (t.kind === 'fwmark') return reject('fwmark services need kernel IPVS (netfilter marks)');
  const group = groups.find((g) => g.name === t.group);
  if (group === undefined) return reject(`virtual_server_group ${t.group} is not defined`);
  const out: Target[] = [];
  for (const entry of group.entries) out.push(...groupEntryTargets(entry, t.group, reject));
  if (out.length === 0) reject(`virtual_server_group ${t.group} has no addresses`);
  const seen = new Set<string>();
  for (const target of out) {
    const key = formatEndpoint(target.address, target.port);
    if (seen.has(key)) reject(`virtual_server_group ${t.group} lists ${key} twice`);
    seen.add(key);
  }
  return out;
}

function groupEntryTargets(
  entry: VirtualServerGroupEntry,
  group: string,
  reject: (reason: string) => never,
): Target[] {
  if (entry.kind === 'fwmark') {
    return reject(`virtual_server_group ${group} has fwmark ${entry.fwmark}, which needs IPVS`);
  }
  const port = entry.port ?? 0;
  if (entry.kind === 'address') {
    return [{ address: canonicalAddress(entry.address), family: entry.family, port }];
  }
  const first = addressToBigInt(entry.first);
  const last = addressToBigInt(entry.last);
  if (last < first)
    reject(`virtual_server_group ${group} range ${entry.first}-${entry.last} is empty`);
  if (last - first >= BigInt(MAX_GROUP_ADDRESSES)) {
    reject(
      `virtual_server_group ${group} range ${entry.first}-${entry.last} has more than ` +
        `${MAX_GROUP_ADDRESSES} addresses`,
    );
  }
  const out: Target[] = [];
  for (let a = first; a <= last; a++) {
    out.push({ address: bigIntToAddress(a, entry.family), family: entry.family, port });
  }
  return out;
}

function persistenceOf(
  vs: VirtualServer,
  family: AddressFamily,
  reject: (reason: string) => never,
): Persistence | undefined {
  if (vs.persistenceTimeoutMs === undefined) return undefined;
  // The data plane counts whole seconds; never round a short timeout down to none.
  const timeoutS = Math.max(1, Math.ceil(vs.persistenceTimeoutMs / 1000));
  const granularity = vs.persistenceGranularity;
  if (granularity === undefined) return { timeoutS };
  return { timeoutS, prefixLength: prefixLengthOf(granularity, family, reject) };
}

/** persistence_granularity: a netmask (255.255.255.0) or a prefix length (24, /64). */
export function prefixLengthOf(
  granularity: string,
  family: AddressFamily,
  reject: (reason: string) => never,
): number {
  const max = family === 'ipv4' ? 32 : 128;
  const text = granularity.startsWith('/') ? granularity.slice(1) : granularity;
  if (/^\d{1,3}$/.test(text)) {
    const n = Number(text);
    if (n <= max) return n;
  } else if (family === 'ipv4' && isIPv4(text)) {
    const mask = Number(addressToBigInt(text));
    const ones = 32 - Math.log2(2 ** 32 - mask);
    if (Number.isInteger(ones)) return ones;
  }
  return reject(`persistence_granularity ${granularity} is not a contiguous ${family} netmask`);
}

function addressToBigInt(address: string): bigint {
  const bytes = addressToBytes(address);
  return bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

function bigIntToAddress(value: bigint, family: AddressFamily): string {
  const length = family === 'ipv4' ? 4 : 16;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    bytes[length - 1 - i] = Number((value >> BigInt(i * 8)) & 0xffn);
  }
  return bytesToAddress(bytes);
}
