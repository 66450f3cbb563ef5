/**
 * The IPVS connection-sync protocol, version 1 (Linux's
 * net/netfilter/ipvs/ip_vs_sync.c), as bytes: the message header and the
 * IPv4 / IPv6 connection entries with their options. The decoder trusts no
 * length: every size is checked against the datagram, and what it cannot
 * read is reported as a drop reason, never thrown.
 */
import { addressToBytes, bytesToAddress, ipv4Number } from '../net/address.js';

/** The multicast group, port and TTL IPVS uses unless told otherwise. */
export const IPVS_SYNC_GROUP4 = '224.0.0.81';
export const IPVS_SYNC_PORT = 8848;
export const IPVS_SYNC_TTL = 1;
/** What the kernel's master sends when maxlen is not set: a 1500-byte MTU minus IP and UDP headers. */
export const IPVS_SYNC_DEFAULT_MAXLEN = 1500 - 20 - 8;
/** The largest datagram payload keepalived lets maxlen ask for. */
export const IPVS_SYNC_MAX_MAXLEN = 65535 - 20 - 8;

export const SYNC_VERSION = 1;
export const HEADER_BYTES = 8;
export const V4_ENTRY_BYTES = 36;
export const V6_ENTRY_BYTES = 72;
/** nr_conns is one byte. */
const MAX_CONNS_PER_MESSAGE = 255;

/** Connection flags (IP_VS_CONN_F_*), as the kernel puts them on the wire. */
export const CONN_F = {
  FWD_MASK: 0x0007,
  MASQ: 0x0000,
  LOCALNODE: 0x0001,
  TUNNEL: 0x0002,
  DROUTE: 0x0003,
  SYNC: 0x0020,
  HASHED: 0x0040,
  NOOUTPUT: 0x0080,
  INACTIVE: 0x0100,
  SEQ_MASK: 0x0600,
  NO_CPORT: 0x0800,
  TEMPLATE: 0x1000,
  ONE_PACKET: 0x2000,
} as const;

/** IPVS TCP states (IP_VS_TCP_S_*). */
export const TCP_STATE = {
  NONE: 0,
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT: 4,
  TIME_WAIT: 5,
  CLOSE: 6,
  CLOSE_WAIT: 7,
  LAST_ACK: 8,
  LISTEN: 9,
  SYNACK: 10,
} as const;
/** Number of states per protocol (a state at or above it is invalid, as the kernel checks). */
export const STATE_COUNT: Readonly<Record<number, number>> = { 6: 11, 17: 1, 132: 13 };
export const SCTP_STATE_ESTABLISHED = 7;

const OPT_SEQ_DATA = 1;
const OPT_PE_DATA = 2;
const OPT_PE_NAME = 3;
/** Set on an option type: the receiver may skip it if unknown. */
const OPT_F_PARAM = 1 << 6;
const SEQ_OPTION_BYTES = 24;

export interface SyncSequence {
  readonly initSeq: number;
  readonly delta: number;
  readonly previousDelta: number;
}

/** One connection of a sync message. */
export interface SyncConnection {
  readonly family: 'ipv4' | 'ipv6';
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP). */
  readonly protocol: number;
  /** IP_VS_CONN_F_* (the forwarding method in the low three bits). */
  readonly flags: number;
  /** IPVS state of the protocol (TCP_STATE for TCP). */
  readonly state: number;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly virtualAddress: string;
  readonly virtualPort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
  readonly fwmark: number;
  /** The connection's timeout in seconds (0: the receiver's own for the state). */
  readonly timeoutS: number;
  /** Sequence adjustments (NAT with FTP): decoded when present, never sent. */
  readonly sequence?: { readonly in: SyncSequence; readonly out: SyncSequence };
  /** Persistence-engine data and name (e.g. SIP): decoded when present, never sent. */
  readonly peData?: Buffer;
  readonly peName?: string;
}

export interface SyncMessage {
  readonly syncId: number;
  readonly connections: readonly SyncConnection[];
  /** Entries skipped inside an otherwise good message, by reason. */
  readonly skipped: readonly EntrySkipReason[];
}

/** Why a whole datagram was dropped. */
export type MessageDropReason =
  | 'short' // shorter than the header
  | 'size' // the header's size is not the datagram's length
  | 'syncid' // another sync id than ours
  | 'version' // not version 1 (version 0 is not read)
  | 'truncated' // an entry or option runs past the datagram
  | 'malformed'; // an entry's type, version or option is invalid

/** Why one entry of a good message was skipped (the kernel skips these too). */
export type EntrySkipReason =
  | 'protocol' // not TCP, UDP or SCTP
  | 'state' // a state the protocol does not have
  | 'option' // an unknown mandatory option
  | 'template'; // a persistence template (lbctl syncs connections only)

export type DecodeResult =
  | { readonly ok: true; readonly message: SyncMessage }
  | { readonly ok: false; readonly reason: MessageDropReason };

/**
 * Decodes one datagram. `syncId` 0 accepts any sync id, as the kernel's
 * backup daemon does.
 */
export function decodeSyncMessage(datagram: Buffer, syncId: number): DecodeResult {
  const length = datagram.length;
  if (length < HEADER_BYTES) return drop('short');
  if (datagram.readUInt16BE(2) !== length) return drop('size');
  const id = datagram[1] as number;
  if (syncId !== 0 && id !== syncId) return drop('syncid');
  if (datagram[0] !== 0 || datagram[5] !== SYNC_VERSION || datagram.readUInt16BE(6) !== 0) {
    return drop('version');
  }
  const count = datagram[4] as number;
  const connections: SyncConnection[] = [];
  const skipped: EntrySkipReason[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + V4_ENTRY_BYTES > length) return drop('truncated');
    const verSize = datagram.readUInt16BE(at + 2);
    const size = verSize & 0x0fff;
    if (verSize >> 12 !== 0) return drop('malformed');
    const end = at + size;
    if (end > length) return drop('truncated');
    const entry = decodeEntry(datagram, at, end);
    if (entry === 'truncated' || entry === 'malformed') return drop(entry);
    if (typeof entry === 'string') skipped.push(entry);
    else connections.push(entry);
    at += (size + 3) & ~3;
  }
  return { ok: true, message: { syncId: id, connections, skipped } };
}

function drop(reason: MessageDropReason): DecodeResult {
  return { ok: false, reason };
}

function decodeEntry(
  buf: Buffer,
  start: number,
  end: number,
): SyncConnection | EntrySkipReason | 'truncated' | 'malformed' {
  const type = buf[start] as number;
  if (type !== 0 && type !== 1) return 'malformed';
  const ipv6 = type === 1;
  const fixed = ipv6 ? V6_ENTRY_BYTES : V4_ENTRY_BYTES;
  if (start + fixed > end) return 'truncated';
  const addressBytes = ipv6 ? 16 : 4;
  const addressesAt = start + 24;
  const address = (n: number) =>
    bytesToAddress(
      buf.subarray(addressesAt + n * addressBytes, addressesAt + (n + 1) * addressBytes),
    );

  let sequence: SyncConnection['sequence'];
  let peData: Buffer | undefined;
  let peName: string | undefined;
  let unknownMandatory = false;
  const seen = new Set<number>();
  for (let at = start + fixed; at < end; ) {
    if (at + 2 > end) return 'truncated';
    const optionType = buf[at] as number;
    const optionLength = buf[at + 1] as number;
    at += 2;
    if (optionLength === 0 || at + optionLength > end) return 'truncated';
    const kind = optionType & ~OPT_F_PARAM;
    if (kind === OPT_SEQ_DATA || kind === OPT_PE_DATA || kind === OPT_PE_NAME) {
      if (seen.has(kind)) return 'malformed';
      seen.add(kind);
    }
    if (kind === OPT_SEQ_DATA) {
      if (optionLength !== SEQ_OPTION_BYTES) return 'malformed';
      const seq = (o: number): SyncSequence => ({
        initSeq: buf.readUInt32BE(at + o),
        delta: buf.readInt32BE(at + o + 4),
        previousDelta: buf.readInt32BE(at + o + 8),
      });
      sequence = { in: seq(0), out: seq(12) };
    } else if (kind === OPT_PE_DATA) {
      peData = Buffer.from(buf.subarray(at, at + optionLength));
    } else if (kind === OPT_PE_NAME) {
      // IP_VS_PENAME_MAXLEN is 16 with its terminator.
      if (optionLength > 15) return 'malformed';
      peName = buf.toString('latin1', at, at + optionLength);
    } else if ((optionType & OPT_F_PARAM) === 0) {
      unknownMandatory = true;
    }
    at += optionLength;
  }
  if (unknownMandatory) return 'option';

  const flags = buf.readUInt32BE(start + 4);
  const state = buf.readUInt16BE(start + 8);
  const protocol = buf[start + 1] as number;
  if ((flags & CONN_F.TEMPLATE) !== 0) return 'template';
  const states = STATE_COUNT[protocol];
  if (states === undefined) return 'protocol';
  if (state >= states) return 'state';
  return {
    family: ipv6 ? 'ipv6' : 'ipv4',
    protocol,
    flags,
    state,
    clientPort: buf.readUInt16BE(start + 10),
    virtualPort: buf.readUInt16BE(start + 12),
    destinationPort: buf.readUInt16BE(start + 14),
    fwmark: buf.readUInt32BE(start + 16),
    timeoutS: buf.readUInt32BE(start + 20),
    clientAddress: address(0),
    virtualAddress: address(1),
    destinationAddress: address(2),
    ...(sequence !== undefined ? { sequence } : {}),
    ...(peData !== undefined ? { peData } : {}),
    ...(peName !== undefined ? { peName } : {}),
  };
}

/** Bytes one connection takes in a message (lbctl sends no options). */
export function entryBytes(connection: Pick<SyncConnection, 'family'>): number {
  return connection.family === 'ipv6' ? V6_ENTRY_BYTES : V4_ENTRY_BYTES;
}

/**
 * Whether an entry of `size` bytes opens a new message rather than join one
 * that holds `count` entries in `bytes` (its header included): a message
 * takes at most `maxLength` bytes and 255 entries, and at least one entry.
 */
export function opensNewMessage(
  count: number,
  bytes: number,
  size: number,
  maxLength: number,
): boolean {
  return count > 0 && (bytes + size > maxLength || count === MAX_CONNS_PER_MESSAGE);
}

/**
 * Packs connections into as few version-1 messages as fit `maxLength`
 * bytes each (and 255 connections, the header's limit), in order.
 */
export function encodeSyncMessages(
  syncId: number,
  connections: readonly SyncConnection[],
  maxLength: number,
): Buffer[] {
  const messages: Buffer[] = [];
  let first = 0;
  let bytes = HEADER_BYTES;
  for (let i = 0; i < connections.length; i++) {
    const size = entryBytes(connections[i] as SyncConnection);
    if (opensNewMessage(i - first, bytes, size, maxLength)) {
      messages.push(encodeSyncMessage(syncId, connections.slice(first, i)));
      first = i;
      bytes = HEADER_BYTES;
    }
    bytes += size;
  }
  if (connections.length > first)
    messages.push(encodeSyncMessage(syncId, connections.slice(first)));
  return messages;
}

/** One version-1 message holding `connections` (at most 255; entries need no padding). */
export function encodeSyncMessage(syncId: number, connections: readonly SyncConnection[]): Buffer {
  if (connections.length > MAX_CONNS_PER_MESSAGE) {
    throw new RangeError(`a sync message holds at most ${MAX_CONNS_PER_MESSAGE} connections`);
  }
  let length = HEADER_BYTES;
  for (const c of connections) length += entryBytes(c);
  const out = Buffer.alloc(length);
  writeSyncHeader(out, syncId, connections.length);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  let at = HEADER_BYTES;
  for (const c of connections) {
    const ipv6 = c.family === 'ipv6';
    writeSyncEntryFields(
      view,
      at,
      ipv6,
      c.protocol,
      c.flags,
      c.state,
      c.clientPort,
      c.virtualPort,
      c.destinationPort,
      c.fwmark,
      c.timeoutS,
    );
    const width = ipv6 ? 16 : 4;
    writeAddress(out, at + 24, c.clientAddress, c.family);
    writeAddress(out, at + 24 + width, c.virtualAddress, c.family);
    writeAddress(out, at + 24 + 2 * width, c.destinationAddress, c.family);
    at += entryBytes(c);
  }
  return out;
}

/** Writes the header of a message `out.length` bytes long holding `count` entries. */
export function writeSyncHeader(out: Buffer, syncId: number, count: number): void {
  out[0] = 0;
  out[1] = syncId & 0xff;
  out.writeUInt16BE(out.length, 2);
  out[4] = count;
  out[5] = SYNC_VERSION;
  out.writeUInt16BE(0, 6);
}

/**
 * Writes an entry's type, size and fields at `at`, all but its three
 * addresses (from `at` + 24, 4 or 16 bytes each); no options. Through a
 * DataView: its writes cost a fraction of Buffer's checked ones, and every
 * value here is already in range (ports and states of 16 bits, the rest
 * taken modulo 2^32 as the kernel's u32 fields would).
 */
export function writeSyncEntryFields(
  out: DataView,
  at: number,
  ipv6: boolean,
  protocol: number,
  flags: number,
  state: number,
  clientPort: number,
  virtualPort: number,
  destinationPort: number,
  fwmark: number,
  timeoutS: number,
): void {
  out.setUint8(at, ipv6 ? 1 : 0);
  out.setUint8(at + 1, protocol);
  out.setUint16(at + 2, ipv6 ? V6_ENTRY_BYTES : V4_ENTRY_BYTES);
  out.setUint32(at + 4, (flags & ~CONN_F.HASHED) >>> 0);
  out.setUint16(at + 8, state);
  out.setUint16(at + 10, clientPort);
  out.setUint16(at + 12, virtualPort);
  out.setUint16(at + 14, destinationPort);
  out.setUint32(at + 16, fwmark >>> 0);
  out.setUint32(at + 20, timeoutS >>> 0);
}

/** Writes an address of the entry's family; IPv4 straight from its text, with no Buffer per address. */
function writeAddress(out: Buffer, at: number, address: string, family: SyncConnection['family']) {
  const v4 = family === 'ipv4' ? ipv4Number(address) : -1;
  if (v4 >= 0) {
    out.writeUInt32BE(v4, at);
    return;
  }
  const bytes = addressToBytes(address);
  if (bytes.length !== (family === 'ipv6' ? 16 : 4)) {
    throw new RangeError(`address ${address} is not ${family}`);
  }
  bytes.copy(out, at);
}
