/**
 * The addresses a virtual server listens on: its own, or every address of its
 * virtual_server_group (ranges expanded). `lbctl validate` and `lbctl up` both
 * expand through here, so a group `up` would refuse never validates.
 */
import { isIPv4 } from 'node:net';
import { fwmarkVip } from '../dataplane/dataplane.js';
import { addressToBytes, bytesToAddress, canonicalAddress } from '../net/address.js';
import type {
  AddressFamily,
  VirtualServer,
  VirtualServerGroup,
  VirtualServerGroupEntry,
} from './model.js';

/** A virtual_server_group range is expanded address by address; beyond this it is a mistake. */
export const MAX_GROUP_ADDRESSES = 4096;

/**
 * One address and port a virtual server listens on (port 0: all ports), or
 * one firewall mark it takes (address: the family's unspecified address, port 0).
 */
export interface ServiceTarget {
  readonly address: string;
  readonly family: AddressFamily;
  readonly port: number;
  readonly fwmark?: number;
}

const fwmarkTarget = (fwmark: number, family: AddressFamily): ServiceTarget => ({
  address: fwmarkVip(family),
  family,
  port: 0,
  fwmark,
});

/** Throws (or records and throws) the reason a target cannot be built. */
export type Reject = (reason: string) => never;

/** The virtual server's targets: its address, its mark, or each entry of its group. */
export function serviceTargets(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
  reject: Reject,
): ServiceTarget[] {
  const t = vs.target;
  if (t.kind === 'address') {
    return [{ address: canonicalAddress(t.address), family: t.family, port: t.port }];
  }
  if (t.kind === 'fwmark') return [fwmarkTarget(t.fwmark, t.family)];
  const group = groups.find((g) => g.name === t.group);
  if (group === undefined) return reject(`virtual_server_group ${t.group} is not defined`);
  const out: ServiceTarget[] = [];
  // keepalived: a mark entry without inet/inet6 takes the family of the virtual server's reals.
  const markFamily = vs.realServers[0]?.family ?? 'ipv4';
  for (const entry of group.entries)
    out.push(...groupEntryTargets(entry, t.group, reject, markFamily));
  if (out.length === 0) reject(`virtual_server_group ${t.group} has no addresses`);
  const seen = new Set<string>();
  for (const target of out) {
    const key =
      target.fwmark !== undefined
        ? `fwmark ${target.fwmark}${target.family === 'ipv6' ? ' inet6' : ''}`
        : `${target.address} port ${target.port}`;
    if (seen.has(key)) reject(`virtual_server_group ${t.group} lists ${key} twice`);
    seen.add(key);
  }
  return out;
}

/** True when the virtual server matches firewall marks (itself or an entry of its group). */
export function usesFwmark(vs: VirtualServer, groups: readonly VirtualServerGroup[]): boolean {
  const t = vs.target;
  if (t.kind === 'fwmark') return true;
  if (t.kind === 'address') return false;
  const group = groups.find((g) => g.name === t.group);
  return group?.entries.some((e) => e.kind === 'fwmark') ?? false;
}

function groupEntryTargets(
  entry: VirtualServerGroupEntry,
  group: string,
  reject: Reject,
  markFamily: AddressFamily,
): ServiceTarget[] {
  if (entry.kind === 'fwmark') return [fwmarkTarget(entry.fwmark, entry.family ?? markFamily)];
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
  const out: ServiceTarget[] = [];
  for (let a = first; a <= last; a++) {
    out.push({ address: bigIntToAddress(a, entry.family), family: entry.family, port });
  }
  return out;
}

/** persistence_granularity: a netmask (255.255.255.0) or a prefix length (24, /64). */
export function prefixLengthOf(granularity: string, family: AddressFamily, reject: Reject): number {
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
