import { isIPv4 } from 'node:net';
import { LbctlError } from '../errors.js';
import { macToBytes } from './mac.js';

const ETH_P_ARP = 0x0806;
const ETH_P_IP = 0x0800;
const ARPHRD_ETHER = 1;
const ARPOP_REQUEST = 1;
/** Ethernet frames are at least 60 bytes before the FCS; shorter ones are padded. */
const MIN_FRAME_BYTES = 60;

/**
 * A gratuitous ARP in the form keepalived sends: a broadcast ARP request whose
 * sender and target protocol address are both `address`, sender hardware
 * address `mac` and target hardware address broadcast. Receivers that already
 * have an entry for `address` replace its MAC (Linux: arp_is_garp → override).
 */
export function gratuitousArpFrame(mac: string, address: string): Buffer {
  if (!isIPv4(address)) {
    throw new LbctlError(
      'INVALID_ADDRESS',
      `Cannot build gratuitous ARP for '${address}': not an IPv4 address`,
    );
  }
  const source = macToBytes(mac);
  const ip = Buffer.from(address.split('.').map(Number));
  const frame = Buffer.alloc(MIN_FRAME_BYTES);
  frame.fill(0xff, 0, 6); // destination: broadcast
  source.copy(frame, 6);
  frame.writeUInt16BE(ETH_P_ARP, 12);
  frame.writeUInt16BE(ARPHRD_ETHER, 14);
  frame.writeUInt16BE(ETH_P_IP, 16);
  frame.writeUInt8(6, 18); // hardware address length
  frame.writeUInt8(4, 19); // protocol address length
  frame.writeUInt16BE(ARPOP_REQUEST, 20);
  source.copy(frame, 22); // sender hardware address
  ip.copy(frame, 28); // sender protocol address
  frame.fill(0xff, 32, 38); // target hardware address: broadcast
  ip.copy(frame, 38); // target protocol address
  return frame;
}
