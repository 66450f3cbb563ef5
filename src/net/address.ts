import { isIPv4, isIPv6 } from 'node:net';
import { LbctlError } from '../errors.js';

/** An address family as configuration and the data planes name it. */
export type AddressFamily = 'ipv4' | 'ipv6';

/** Address scopes (ip-address(8) `scope`), for VIPs and routes. */
export const ADDRESS_SCOPES = ['global', 'site', 'link', 'host', 'nowhere'] as const;
export type AddressScope = (typeof ADDRESS_SCOPES)[number];

/** Family of a textual IP address, or undefined when it is not one. */
export function ipFamily(address: string): 4 | 6 | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** Family of an address that must be one; `action` says what it was for. */
export function requireFamily(address: string, action = 'use address'): 4 | 6 {
  const family = ipFamily(address);
  if (family === undefined) {
    throw new LbctlError('INVALID_ADDRESS', `Cannot ${action} '${address}': not an IP address`);
  }
  return family;
}

/** Network-order bytes of an IPv4 or IPv6 address. */
export function addressToBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map((part) => Number(part)));
  if (isIPv6(address)) return ipv6ToBytes(address);
  throw new LbctlError('INVALID_ADDRESS', `Cannot parse address '${address}': not IPv4 or IPv6`);
}

/** Textual form of 4 or 16 network-order bytes (IPv6 in RFC 5952 form). */
export function bytesToAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) {
    throw new LbctlError('INVALID_ADDRESS', `Cannot format address: ${bytes.length} bytes`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Longest run of zero groups (length >= 2) becomes "::".
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** Canonical textual form, so equal addresses compare equal as strings. */
export function canonicalAddress(address: string): string {
  return bytesToAddress(addressToBytes(address));
}

/** Compares two addresses of the same family as unsigned numbers. */
export function compareAddresses(a: string, b: string): number {
  return Buffer.compare(addressToBytes(a), addressToBytes(b));
}

function ipv6ToBytes(address: string): Buffer {
  let text = address;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last 4 bytes.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let tailBytes: Buffer | undefined;
  if (isIPv4(tail)) {
    tailBytes = addressToBytes(tail);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = text.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const zeros = 8 - leftGroups.length - rightGroups.length;
  const groups = [
    ...leftGroups,
    ...Array<string>(right === undefined ? 0 : zeros).fill('0'),
    ...rightGroups,
  ];
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  if (tailBytes) tailBytes.copy(out, 12);
  return out;
}
