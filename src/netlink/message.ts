/**
 * Netlink message framing (netlink(7)): a 16-byte header, a fixed family
 * header, then 4-byte aligned type-length-value attributes. Host byte order.
 */
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In NLMSG_ERROR: the kernel appended extended-ack attributes. */
export const NLM_F_ACK_TLVS = 0x200;
/** In NLMSG_ERROR: the original request was not echoed back in full. */
export const NLM_F_CAPPED = 0x100;
export const NLMSGERR_ATTR_MSG = 1;

const HEADER_BYTES = 16;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  portId: number;
  /** Everything after the netlink header. */
  body: Buffer;
}

export interface Attribute {
  type: number;
  value: Buffer;
}

export const align4 = (n: number): number => (n + 3) & ~3;

export function encodeMessage(
  type: number,
  flags: number,
  seq: number,
  familyHeader: Buffer,
  attributes: readonly Attribute[] = [],
): Buffer {
  const body = Buffer.concat([padded(familyHeader), encodeAttributes(attributes)]);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(HEADER_BYTES + body.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(seq, 8);
  header.writeUInt32LE(0, 12);
  return Buffer.concat([header, body]);
}

/** Splits a datagram into messages; stops at a malformed length rather than reading past it. */
export function decodeMessages(datagram: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= datagram.length) {
    const length = datagram.readUInt32LE(offset);
    if (length < HEADER_BYTES || offset + length > datagram.length) break;
    out.push({
      type: datagram.readUInt16LE(offset + 4),
      flags: datagram.readUInt16LE(offset + 6),
      seq: datagram.readUInt32LE(offset + 8),
      portId: datagram.readUInt32LE(offset + 12),
      body: datagram.subarray(offset + HEADER_BYTES, offset + length),
    });
    offset += align4(length);
  }
  return out;
}

export function encodeAttributes(attributes: readonly Attribute[]): Buffer {
  return Buffer.concat(
    attributes.map(({ type, value }) => {
      const header = Buffer.alloc(4);
      header.writeUInt16LE(4 + value.length, 0);
      header.writeUInt16LE(type, 2);
      return padded(Buffer.concat([header, value]));
    }),
  );
}

/** Attributes from `buf` (starting at `offset`), by type; nested ones are left as bytes. */
export function decodeAttributes(buf: Buffer, offset = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let at = offset;
  while (at + 4 <= buf.length) {
    const length = buf.readUInt16LE(at);
    const type = buf.readUInt16LE(at + 2) & 0x3fff; // strip NLA_F_NESTED / NET_BYTEORDER
    if (length < 4 || at + length > buf.length) break;
    out.set(type, buf.subarray(at + 4, at + length));
    at += align4(length);
  }
  return out;
}

export function u32Attribute(type: number, value: number): Attribute {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return { type, value: b };
}

export function stringAttribute(type: number, value: string): Attribute {
  return { type, value: Buffer.from(`${value}\0`) };
}

/** Text of a NUL-terminated string attribute. */
export function attributeString(value: Buffer | undefined): string | undefined {
  if (value === undefined) return undefined;
  const nul = value.indexOf(0);
  return value.subarray(0, nul < 0 ? value.length : nul).toString();
}

function padded(buf: Buffer): Buffer {
  const extra = align4(buf.length) - buf.length;
  return extra === 0 ? buf : Buffer.concat([buf, Buffer.alloc(extra)]);
}
