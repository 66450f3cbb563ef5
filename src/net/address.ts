import { isIPv4, isIPv6 } from 'node:net';
import { LbctlError } from '../errors.js';

/** An address family as configuration and the data planes name it. */
export type AddressFamily = 'ipv4' | 'ipv6';

/** Address scopes (ip-address(8) `scope`), for VIPs and routes. */
export const ADDRESS_SCOPES = ['global', 'site', 'link', 'host', 'nowhere'] as const;
export type AddressScope = (typeof ADDRESS_SCOPES)[number];

/**
 * An IPv4 literal as the number its four bytes make in network order, or -1
 * when `text` is not one. Accepts exactly what node:net's isIPv4 does (four
 * parts of 0-255, no leading zeros) without a regular expression or an
 * allocation: the data plane parses tens of thousands per update.
 */
export function ipv4Number(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let leadingZero = false;
  let parts = 0;
  for (let i = 0; i <= length; i++) {
    // A dot after the last part closes it like the others.
    const c = i < length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255 || (leadingZero && digits > 1)) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) leadingZero = c === 48;
      if (++digits > 3) return -1;
      part = part * 10 + (c - 48);
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/** Family of a textual IP address, or undefined when it is not one. */
export function ipFamily(address: string): 4 | 6 | undefined {
  if (ipv4Number(address) >= 0) return 4;
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
  const v4 = ipv4Number(address);
  if (v4 >= 0) {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(v4);
    return bytes;
  }
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
  // Dotted decimal as isIPv4 accepts it (no leading zeros) is already canonical.
  if (ipv4Number(address) >= 0) return address;
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
