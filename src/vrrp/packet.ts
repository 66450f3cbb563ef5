import { LbctlError } from '../errors.js';
import { addressToBytes, bytesToAddress } from '../net/address.js';
import { internetChecksum } from '../net/checksum.js';
import type { IpFamily } from './io.js';

/** IP protocol number of VRRP. */
export const VRRP_PROTOCOL = 112;
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_HEADER_LENGTH = 8;
/** v2 over IPv4 carries 8 bytes of authentication data after the addresses. */
export const V2_AUTH_DATA_LENGTH = 8;

export type AuthType = 'none' | 'pass';
export const AUTH_TYPE_CODE = { none: 0, pass: 1, ah: 2 } as const;

/** One VRRP advertisement, as the fields on the wire mean them. */
export interface VrrpAdvert {
  readonly version: 2 | 3;
  readonly type: number;
  readonly vrid: number;
  readonly priority: number;
  /** v2 authentication type code (0 none, 1 PASS, 2 AH); always 0 in v3. */
  readonly authType: number;
  /** v2: seconds x 1000; v3: centiseconds x 10. */
  readonly advertIntervalMs: number;
  readonly addresses: readonly string[];
  /** v2 over IPv4 only: the 8 authentication bytes (the PASS password, zero padded). */
  readonly authData?: Buffer;
}

/** What the checksum covers besides the VRRP message itself. */
export interface ChecksumContext {
  readonly family: IpFamily;
  /** IP source address of the packet (pseudo-header). */
  readonly source: string;
  /** IP destination address used in the pseudo-header. */
  readonly destination: string;
  /** v3 over IPv4 only: checksum the message alone, as v2 does (no pseudo-header). */
  readonly v3ChecksumAsV2?: boolean;
}

export function addressLength(family: IpFamily): number {
  return family === 4 ? 4 : 16;
}

/** Length of a complete message of `version` with `count` addresses. */
export function expectedMessageLength(version: number, count: number, family: IpFamily): number {
  const auth = version === 2 && family === 4 ? V2_AUTH_DATA_LENGTH : 0;
  return VRRP_HEADER_LENGTH + count * addressLength(family) + auth;
}

/** The 8 bytes of PASS authentication data: the password, zero padded. */
export function passwordBytes(password: string): Buffer {
  const bytes = Buffer.from(password, 'utf8');
  if (bytes.length === 0 || bytes.length > V2_AUTH_DATA_LENGTH) {
    throw new LbctlError(
      'VRRP_BAD_AUTH_PASS',
      `Cannot use auth_pass "${password}": it must be 1 to 8 bytes long`,
    );
  }
  const out = Buffer.alloc(V2_AUTH_DATA_LENGTH);
  bytes.copy(out);
  return out;
}

/** Encodes `advert` with its checksum filled in. */
export function encodeAdvert(advert: VrrpAdvert, context: ChecksumContext): Buffer {
  const family = context.family;
  if (advert.version === 2 && family === 6) {
    throw new LbctlError('VRRP_BAD_VERSION', 'Cannot encode VRRP v2 over IPv6: IPv6 needs v3');
  }
  const length = expectedMessageLength(advert.version, advert.addresses.length, family);
  const out = Buffer.alloc(length);
  out[0] = (advert.version << 4) | (advert.type & 0x0f);
  out[1] = advert.vrid;
  out[2] = advert.priority;
  out[3] = advert.addresses.length;
  if (advert.version === 2) {
    out[4] = advert.authType;
    out[5] = Math.round(advert.advertIntervalMs / 1000);
  } else {
    out.writeUInt16BE(Math.round(advert.advertIntervalMs / 10) & 0x0fff, 4);
  }
  let offset = VRRP_HEADER_LENGTH;
  for (const address of advert.addresses) {
    const bytes = addressToBytes(address);
    if (bytes.length !== addressLength(family)) {
      throw new LbctlError(
        'VRRP_BAD_ADDRESS',
        `Cannot encode address ${address} in an IPv${family} advertisement: wrong family`,
      );
    }
    bytes.copy(out, offset);
    offset += bytes.length;
  }
  if (advert.version === 2 && family === 4) advert.authData?.copy(out, offset);
  out.writeUInt16BE(computeChecksum(out, advert.version, context), 6);
  return out;
}

/**
 * Checksum of `message` (its checksum field is treated as zero): v2 over the
 * message; v3 with the IPv4 or IPv6 pseudo-header (RFC 5798 section 5.2.8).
 */
export function computeChecksum(
  message: Buffer,
  version: number,
  context: ChecksumContext,
): number {
  const zeroed = Buffer.from(message);
  zeroed.writeUInt16BE(0, 6);
  return internetChecksum(...checksumParts(zeroed, version, context));
}

/** True when the checksum carried in `message` is right for `context`. */
export function checksumIsValid(
  message: Buffer,
  version: number,
  context: ChecksumContext,
): boolean {
  return internetChecksum(...checksumParts(message, version, context)) === 0;
}

function checksumParts(message: Buffer, version: number, context: ChecksumContext): Uint8Array[] {
  if (version === 2 || (context.family === 4 && context.v3ChecksumAsV2 === true)) return [message];
  if (context.family === 4) {
    const pseudo = Buffer.alloc(12);
    addressToBytes(context.source).copy(pseudo, 0);
    addressToBytes(context.destination).copy(pseudo, 4);
    pseudo[9] = VRRP_PROTOCOL;
    pseudo.writeUInt16BE(message.length, 10);
    return [pseudo, message];
  }
  const pseudo = Buffer.alloc(40);
  addressToBytes(context.source).copy(pseudo, 0);
  addressToBytes(context.destination).copy(pseudo, 16);
  pseudo.writeUInt32BE(message.length, 32);
  pseudo[39] = VRRP_PROTOCOL;
  return [pseudo, message];
}

/** Header fields readable from any message of at least 8 bytes. */
export interface VrrpHeader {
  readonly version: number;
  readonly type: number;
  readonly vrid: number;
  readonly priority: number;
  readonly count: number;
  /** v2 auth type byte (meaningless in v3). */
  readonly authType: number;
  /** Interval field in milliseconds, read per `version`. */
  readonly advertIntervalMs: number;
  readonly checksum: number;
}

export function readHeader(message: Buffer): VrrpHeader {
  if (message.length < VRRP_HEADER_LENGTH) {
    throw new LbctlError(
      'VRRP_SHORT_PACKET',
      `Cannot decode VRRP header: ${message.length} bytes, need ${VRRP_HEADER_LENGTH}`,
    );
  }
  const version = message[0]! >> 4;
  return {
    version,
    type: message[0]! & 0x0f,
    vrid: message[1]!,
    priority: message[2]!,
    count: message[3]!,
    authType: message[4]!,
    advertIntervalMs: version === 2 ? message[5]! * 1000 : (message.readUInt16BE(4) & 0x0fff) * 10,
    checksum: message.readUInt16BE(6),
  };
}

/** Decodes a complete message; throws when its length does not match its header. */
export function decodeAdvert(message: Buffer, family: IpFamily): VrrpAdvert {
  const header = readHeader(message);
  if (header.version !== 2 && header.version !== 3) {
    throw new LbctlError(
      'VRRP_BAD_VERSION',
      `Cannot decode VRRP message: version ${header.version} is neither 2 nor 3`,
    );
  }
  const expected = expectedMessageLength(header.version, header.count, family);
  if (message.length !== expected) {
    throw new LbctlError(
      'VRRP_BAD_LENGTH',
      `Cannot decode VRRP message: ${message.length} bytes, header announces ${expected}`,
    );
  }
  const size = addressLength(family);
  const addresses: string[] = [];
  for (let i = 0; i < header.count; i++) {
    const start = VRRP_HEADER_LENGTH + i * size;
    addresses.push(bytesToAddress(message.subarray(start, start + size)));
  }
  const authStart = VRRP_HEADER_LENGTH + header.count * size;
  const base = {
    version: header.version,
    type: header.type,
    vrid: header.vrid,
    priority: header.priority,
    authType: header.version === 2 ? header.authType : 0,
    advertIntervalMs: header.advertIntervalMs,
    addresses,
  } as const;
  if (header.version === 2 && family === 4) {
    return { ...base, authData: Buffer.from(message.subarray(authStart, authStart + 8)) };
  }
  return base;
}
