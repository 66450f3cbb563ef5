/**
 * One line of /proc/net/ip_vs_conn read into numbers: the protocol, the
 * state's name, the seconds left, and each endpoint's family, address words
 * and port, straight from the kernel's hex ("TCP 0A000001 9C40 0A000064
 * 0050 0A00000B 0050 ESTABLISHED 899"; IPv6 addresses in full colon form).
 * The hand-off maps these to sync entries without any text in between; the
 * listing (ipvsadm -Lnc) formats them. A line is read in place, with no
 * split, regular expression or object per row, into one reused record.
 */
import { isIPv6 } from 'node:net';
import { addressToBytes } from '../../net/address.js';
import type { Protocol } from '../dataplane.js';

/** Endpoint indexes of a row's fields. */
export const CLIENT = 0;
export const VIRTUAL = 1;
export const DESTINATION = 2;

/** A row's fields; one record is reused for every line read into it. */
export class IpvsConnectionFields {
  protocol: Protocol = 'tcp';
  /** The state's IPVS name (ESTABLISHED, SYN_RECV, FIN_WAIT, UDP, ...). */
  state = '';
  expiresS = 0;
  /** Per endpoint (CLIENT, VIRTUAL, DESTINATION): 4 or 6. */
  readonly family = new Uint8Array(3);
  readonly port = new Uint16Array(3);
  /** Per endpoint, four 32-bit words of the address in network order (IPv4: the first only). */
  readonly words = new Uint32Array(12);
}

/** Fields a line has before those ignored (PEName, PEData). */
const FIELDS = 9;
const starts = new Int32Array(FIELDS);
const ends = new Int32Array(FIELDS);
const v6Bytes = Buffer.alloc(16);

/** The whitespace String.prototype.trim and /\s/ know: a line's fields are what lies between. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** The value of a hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 32;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/** The number `length` hex digits at `at` make, or -1 when one is not a hex digit. */
function hexNumber(line: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const d = hexDigit(line.charCodeAt(i));
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

const PROTOCOL_NAMES: readonly (readonly [string, Protocol])[] = [
  ['TCP', 'tcp'],
  ['UDP', 'udp'],
  ['SCTP', 'sctp'],
];

/** The protocol ipvsadm names at [start, end), or undefined for any other (ESP, AH, ...). */
function protocolAt(line: string, start: number, end: number): Protocol | undefined {
  for (const [name, protocol] of PROTOCOL_NAMES) {
    if (name.length === end - start && line.startsWith(name, start)) return protocol;
  }
  return undefined;
}

/**
 * Reads the address at [start, end) into endpoint `n`: eight hex digits
 * (IPv4), or an IPv6 literal of hex digits and colons (the kernel prints all
 * eight groups of four; any other form node:net accepts is read too).
 */
function readAddress(
  line: string,
  start: number,
  end: number,
  into: IpvsConnectionFields,
  n: number,
): boolean {
  const length = end - start;
  const w = n * 4;
  if (length === 8) {
    const v4 = hexNumber(line, start, 8);
    if (v4 >= 0) {
      into.family[n] = 4;
      into.words[w] = v4;
      return true;
    }
  }
  if (length === 39 && fullIpv6(line, start, into, w)) {
    into.family[n] = 6;
    return true;
  }
  // Anything else of hex digits and colons, with a colon, that is an IPv6 literal.
  let colon = false;
  for (let i = start; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === 58) colon = true;
    else if (hexDigit(c) < 0) return false;
  }
  const text = line.slice(start, end);
  if (!colon || !isIPv6(text)) return false;
  const bytes = addressToBytes(text);
  for (let i = 0; i < 4; i++) into.words[w + i] = bytes.readUInt32BE(i * 4);
  into.family[n] = 6;
  return true;
}

/** Eight groups of four hex digits split by colons (%pI6), into four words. */
function fullIpv6(line: string, start: number, into: IpvsConnectionFields, w: number): boolean {
  for (let k = 0; k < 4; k++) {
    const at = start + k * 10;
    if (line.charCodeAt(at + 4) !== 58 || (k < 3 && line.charCodeAt(at + 9) !== 58)) return false;
    const high = hexNumber(line, at, 4);
    const low = hexNumber(line, at + 5, 4);
    if (high < 0 || low < 0) return false;
    into.words[w + k] = high * 65536 + low;
  }
  return true;
}

/** The seconds left at [start, end): a non-negative integer as Number reads it. */
function expiresAt(line: string, start: number, end: number): number {
  const length = end - start;
  let value = 0;
  for (let i = start; i < end && length <= 15; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) {
      value = -1;
      break;
    }
    value = value * 10 + (c - 48);
  }
  if (value >= 0 && length <= 15) return value;
  // Other forms Number takes (+5, 1e3, 0x10, -0): rare, read as it reads them.
  const n = Number(line.slice(start, end));
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

/**
 * Reads one line of /proc/net/ip_vs_conn into `into`; false for the header,
 * other protocols or a line it cannot read (then `into` holds no row). The
 * line is `text` from `from` up to `to` (a read's text holds many: reading
 * them in place spares a string per line).
 */
export function readIpvsConnectionFields(
  text: string,
  into: IpvsConnectionFields,
  from = 0,
  to = text.length,
): boolean {
  let count = 0;
  for (let i = from; i < to && count < FIELDS; ) {
    while (i < to && isSpace(text.charCodeAt(i))) i++;
    if (i === to) break;
    starts[count] = i;
    while (i < to && !isSpace(text.charCodeAt(i))) i++;
    ends[count++] = i;
  }
  if (count < FIELDS) return false;
  const protocol = protocolAt(text, starts[0] as number, ends[0] as number);
  if (protocol === undefined) return false;
  for (let n = 0; n < 3; n++) {
    const a = 1 + n * 2;
    const portStart = starts[a + 1] as number;
    const port = ends[a + 1] === portStart + 4 ? hexNumber(text, portStart, 4) : -1;
    if (port < 0 || !readAddress(text, starts[a] as number, ends[a] as number, into, n)) {
      return false;
    }
    into.port[n] = port;
  }
  const expiresS = expiresAt(text, starts[8] as number, ends[8] as number);
  if (expiresS < 0) return false;
  into.protocol = protocol;
  into.state = text.slice(starts[7], ends[7]);
  into.expiresS = expiresS;
  return true;
}

/** Endpoint `n`'s address as network-order bytes (4 or 16; a new Buffer). */
export function endpointBytes(fields: IpvsConnectionFields, n: number): Buffer {
  const w = n * 4;
  if (fields.family[n] === 4) {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(fields.words[w] as number);
    return out;
  }
  for (let i = 0; i < 4; i++) v6Bytes.writeUInt32BE(fields.words[w + i] as number, i * 4);
  return Buffer.from(v6Bytes);
}
