import { isIPv6 } from 'node:net';
import { LbctlError } from '../errors.js';
import { addressToBytes } from './address.js';
import { internetChecksum } from './checksum.js';
import { macToBytes } from './mac.js';

const ND_NEIGHBOR_ADVERT = 136;
const ND_NA_FLAG_ROUTER = 0x80000000;
const ND_NA_FLAG_OVERRIDE = 0x20000000;
const ND_OPT_TARGET_LINKADDR = 2;
const IPPROTO_ICMPV6 = 58;

/** All-nodes multicast: where unsolicited neighbour advertisements go (RFC 4861 7.2.6). */
export const ALL_NODES_MULTICAST = 'ff02::1';

export interface NeighbourAdvertOptions {
  /** The address being announced (the VIP). */
  readonly target: string;
  /** Link-layer address carried in the target link-layer address option. */
  readonly mac: string;
  /** Set the Router flag (keepalived does when the interface forwards). */
  readonly router?: boolean;
  /**
   * Source and destination for the checksum. Omit both when sending through
   * an ICMPv6 raw socket: the kernel fills the checksum in.
   */
  readonly checksum?: { readonly source: string; readonly destination: string };
}

/**
 * An unsolicited neighbour advertisement (ICMPv6 message, no IP header) with
 * the Override flag and the target link-layer address option, as keepalived
 * sends for IPv6 VIPs: neighbours replace their cached MAC for `target`.
 */
export function unsolicitedNeighbourAdvert(options: NeighbourAdvertOptions): Buffer {
  if (!isIPv6(options.target)) {
    throw new LbctlError(
      'INVALID_ADDRESS',
      `Cannot build neighbour advertisement for '${options.target}': not an IPv6 address`,
    );
  }
  const message = Buffer.alloc(32);
  message.writeUInt8(ND_NEIGHBOR_ADVERT, 0);
  message.writeUInt8(0, 1); // code
  const flags = ND_NA_FLAG_OVERRIDE | (options.router === true ? ND_NA_FLAG_ROUTER : 0);
  message.writeUInt32BE(flags >>> 0, 4);
  addressToBytes(options.target).copy(message, 8);
  message.writeUInt8(ND_OPT_TARGET_LINKADDR, 24);
  message.writeUInt8(1, 25); // option length in units of 8 bytes
  macToBytes(options.mac).copy(message, 26);
  if (options.checksum !== undefined) {
    const pseudo = Buffer.alloc(40);
    addressToBytes(options.checksum.source).copy(pseudo, 0);
    addressToBytes(options.checksum.destination).copy(pseudo, 16);
    pseudo.writeUInt32BE(message.length, 32);
    pseudo.writeUInt8(IPPROTO_ICMPV6, 39);
    message.writeUInt16BE(internetChecksum(pseudo, message), 2);
  }
  return message;
}
