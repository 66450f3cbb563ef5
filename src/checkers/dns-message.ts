import { CheckerConfigError } from './checker-error.js';

/** Query types DNS_CHECK accepts (keepalived's list). */
export const DNS_TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
} as const;

export type DnsType = keyof typeof DNS_TYPES;

export const DNS_RCODE_NAMES: readonly string[] = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
];

const HEADER_BYTES = 12;
const FLAG_QR = 0x8000;
const FLAG_RD = 0x0100;
const CLASS_IN = 1;

export function dnsTypeCode(type: string): number {
  const code = (DNS_TYPES as Record<string, number>)[type.toUpperCase()];
  if (code === undefined) {
    throw new CheckerConfigError(
      `Cannot use DNS_CHECK type "${type}": expected one of ${Object.keys(DNS_TYPES).join(', ')}`,
    );
  }
  return code;
}

/** Encodes "www.example.com." (or "." for the root) as DNS labels. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63) {
      throw new CheckerConfigError(
        `Cannot use DNS_CHECK name "${name}": each label must be 1 to 63 characters`,
      );
    }
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const encoded = Buffer.concat(parts);
  if (encoded.length > 255) {
    throw new CheckerConfigError(`Cannot use DNS_CHECK name "${name}": longer than 255 bytes`);
  }
  return encoded;
}

/** A standard recursive query for one name and type, class IN. */
export function encodeQuery(id: number, name: string, typeCode: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(FLAG_RD, 2);
  header.writeUInt16BE(1, 4);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(typeCode, 0);
  question.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(name), question]);
}

/** The parts of a response DNS_CHECK judges. */
export interface DnsResponse {
  readonly id: number;
  readonly isResponse: boolean;
  readonly rcode: number;
  readonly answerTypes: readonly number[];
}

export class DnsDecodeError extends Error {}

/** Decodes header and answer record types, checking every read against the buffer. */
export function decodeResponse(message: Buffer): DnsResponse {
  if (message.length < HEADER_BYTES) throw new DnsDecodeError('response shorter than a header');
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  const qdcount = message.readUInt16BE(4);
  const ancount = message.readUInt16BE(6);
  let offset = HEADER_BYTES;
  for (let i = 0; i < qdcount; i++) {
    offset = skipName(message, offset) + 4;
  }
  const answerTypes: number[] = [];
  for (let i = 0; i < ancount; i++) {
    offset = skipName(message, offset);
    need(message, offset, 10);
    answerTypes.push(message.readUInt16BE(offset));
    const rdlength = message.readUInt16BE(offset + 8);
    offset += 10 + rdlength;
    need(message, offset, 0);
  }
  return { id, isResponse: (flags & FLAG_QR) !== 0, rcode: flags & 0x000f, answerTypes };
}

function need(message: Buffer, offset: number, bytes: number): void {
  if (offset + bytes > message.length) throw new DnsDecodeError('response truncated');
}

/** Returns the offset just past a (possibly compressed) name. */
function skipName(message: Buffer, offset: number): number {
  // A name has at most 127 labels; more means a malformed message.
  for (let labels = 0; labels < 128; labels++) {
    need(message, offset, 1);
    const len = message.readUInt8(offset);
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) {
      need(message, offset, 2);
      return offset + 2;
    }
    if ((len & 0xc0) !== 0) throw new DnsDecodeError('unsupported label type');
    offset += 1 + len;
  }
  throw new DnsDecodeError('name has too many labels');
}
