import { canonicalAddress } from '../net/address.js';
import { type IpFamily, type ReceivedPacket, VRRP_MULTICAST_IPV4, VRRP_TTL } from './io.js';
import {
  AUTH_TYPE_CODE,
  type AuthType,
  checksumIsValid,
  decodeAdvert,
  expectedMessageLength,
  readHeader,
  VRRP_TYPE_ADVERTISEMENT,
  type VrrpAdvert,
} from './packet.js';

/**
 * Why a received advertisement was not accepted, one counter each. Listed in
 * the order the checks run, which is keepalived's (vrrp.c, vrrp_check_packet).
 */
export const DROP_REASONS = [
  'packetLength',
  'version',
  'ttl',
  'invalidAuthType',
  'authTypeMismatch',
  'authFailure',
  'advertIntervalMismatch',
  'type',
  'addressListMismatch',
  'checksum',
  'unexpectedDestination',
  'unicastSourceNotPeer',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What an instance expects of the adverts it accepts. */
export interface ReceiveExpectations {
  readonly family: IpFamily;
  readonly version: 2 | 3;
  readonly authType: AuthType;
  /** PASS password as 8 zero-padded bytes (when authType is 'pass'). */
  readonly authData?: Buffer;
  readonly advertIntervalMs: number;
  /** Canonical VIP addresses carried in adverts. */
  readonly vips: readonly string[];
  /** Canonical unicast peers; empty in multicast mode. */
  readonly unicastPeers: readonly string[];
  readonly checkUnicastSource: boolean;
  readonly v3ChecksumAsV2: boolean;
}

export type AdvertVerdict =
  | { readonly ok: true; readonly advert: VrrpAdvert; readonly oldUnicastChecksum: boolean }
  | { readonly ok: false; readonly reason: DropReason; readonly detail: string };

function drop(reason: DropReason, detail: string): AdvertVerdict {
  return { ok: false, reason, detail };
}

/**
 * Runs the receive checks on one packet already dispatched to this instance
 * by VRID. `checkAddresses` is false when keepalived's skip_check_adv_addr
 * applies (same master as last time).
 */
export function checkAdvert(
  expect: ReceiveExpectations,
  packet: ReceivedPacket,
  checkAddresses: boolean,
): AdvertVerdict {
  const message = packet.payload;
  if (message.length < 8) return drop('packetLength', `${message.length} bytes, need at least 8`);
  const header = readHeader(message);
  // Before the length, which depends on the version: v3 against v2, or 1 and
  // 15, are version mismatches, not length errors.
  if (header.version !== expect.version) {
    return drop('version', `version ${header.version}, expected ${expect.version}`);
  }
  const expectedLength = expectedMessageLength(header.version, header.count, expect.family);
  if (message.length !== expectedLength) {
    return drop('packetLength', `${message.length} bytes, expected ${expectedLength}`);
  }
  const multicast = expect.unicastPeers.length === 0;
  if (multicast && packet.ttlOrHopLimit !== VRRP_TTL) {
    return drop('ttl', `TTL/hop limit ${packet.ttlOrHopLimit}, expected ${VRRP_TTL}`);
  }
  if (expect.version === 2) {
    if (header.authType !== AUTH_TYPE_CODE.none && header.authType !== AUTH_TYPE_CODE.pass) {
      return drop('invalidAuthType', `auth type ${header.authType} is not supported`);
    }
    const wanted = AUTH_TYPE_CODE[expect.authType];
    if (header.authType !== wanted) {
      return drop('authTypeMismatch', `auth type ${header.authType}, expected ${wanted}`);
    }
    if (expect.authType === 'pass' && expect.family === 4) {
      const received = message.subarray(message.length - 8);
      if (!expect.authData || !received.equals(expect.authData)) {
        return drop('authFailure', 'wrong PASS password');
      }
    }
    if (header.advertIntervalMs !== expect.advertIntervalMs) {
      return drop(
        'advertIntervalMismatch',
        `advert interval ${header.advertIntervalMs / 1000}s, ours ${expect.advertIntervalMs / 1000}s`,
      );
    }
  }
  if (header.type !== VRRP_TYPE_ADVERTISEMENT) {
    return drop('type', `type ${header.type}, expected ${VRRP_TYPE_ADVERTISEMENT}`);
  }
  if (checkAddresses && header.count !== expect.vips.length) {
    return drop('addressListMismatch', `${header.count} addresses, expected ${expect.vips.length}`);
  }
  const context = {
    family: expect.family,
    source: packet.source,
    destination: packet.destination,
    v3ChecksumAsV2: expect.v3ChecksumAsV2,
  };
  let oldUnicastChecksum = false;
  if (!checksumIsValid(message, header.version, context)) {
    // keepalived <= 1.3.6 computed unicast v3 checksums with the multicast group as destination.
    const legacy = { ...context, destination: VRRP_MULTICAST_IPV4 };
    const legacyApplies = !multicast && expect.family === 4 && header.version === 3;
    if (!legacyApplies || !checksumIsValid(message, header.version, legacy)) {
      return drop('checksum', `bad checksum 0x${header.checksum.toString(16)}`);
    }
    oldUnicastChecksum = true;
  }
  const destinationIsMulticast = isMulticast(packet.destination);
  if (destinationIsMulticast !== multicast) {
    return drop(
      'unexpectedDestination',
      `expected ${multicast ? 'multicast' : 'unicast'}, got ${packet.destination}`,
    );
  }
  const advert = decodeAdvert(message, expect.family);
  if (checkAddresses) {
    const received = new Set(advert.addresses);
    const missing = expect.vips.find((vip) => !received.has(vip));
    if (missing !== undefined) {
      return drop('addressListMismatch', `virtual address ${missing} not in the advert`);
    }
    if (!multicast && expect.checkUnicastSource) {
      const source = canonicalAddress(packet.source);
      if (!expect.unicastPeers.includes(source)) {
        return drop('unicastSourceNotPeer', `source ${packet.source} is not a unicast peer`);
      }
    }
  }
  return { ok: true, advert, oldUnicastChecksum };
}

function isMulticast(address: string): boolean {
  if (address.includes(':')) return address.toLowerCase().startsWith('ff');
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}
