/**
 * A small packet builder for data-plane tests. It computes every checksum
 * from scratch, so it serves as the independent check of the program's
 * incremental updates.
 */
import { isIPv4 } from 'node:net';
import { ipv4ToBytes, ipv6ToBytes, macToBytes } from '../../../src/bpf/codec.js';

export type L4 = 'tcp' | 'udp';

export interface PacketSpec {
  readonly src: string;
  readonly dst: string;
  readonly proto: L4;
  readonly sport: number;
  readonly dport: number;
  readonly payload?: Buffer;
  /** TCP flags byte (default SYN: the segment that may open a flow). */
  readonly tcpFlags?: number;
  readonly ttl?: number;
  readonly tos?: number;
  readonly df?: boolean;
  /** IPv4 UDP may carry no checksum. */
  readonly udpNoChecksum?: boolean;
  /** IPv4 options (multiple of 4 bytes). */
  readonly ipOptions?: Buffer;
  /** IPv6 extension headers (next-header values) before the L4 header. */
  readonly ipv6Ext?: readonly number[];
}

export interface FrameSpec {
  readonly srcMac?: string;
  readonly dstMac?: string;
  readonly vlan?: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

export const CLIENT_MAC = '02:00:00:00:00:01';
export const DIRECTOR_MAC = '02:00:00:00:00:02';

export function sum16(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += buf[buf.length - 1]! << 8;
  return sum;
}

export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** RFC 1071 checksum of `buf` (with an optional initial partial sum). */
export function checksum(buf: Buffer, initial = 0): number {
  return ~fold(sum16(buf, initial)) & 0xffff;
}

export function addrBuf(addr: string): Buffer {
  return isIPv4(addr) ? ipv4ToBytes('address', addr) : ipv6ToBytes('address', addr);
}

function pseudoHeaderSum(src: Buffer, dst: Buffer, proto: number, length: number): number {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(length);
  const p = Buffer.from([0, proto]);
  return sum16(src) + sum16(dst) + sum16(p) + sum16(len);
}

function l4Segment(spec: PacketSpec, src: Buffer, dst: Buffer): Buffer {
  const payload = spec.payload ?? Buffer.from('lbctl');
  let seg: Buffer;
  let csumAt: number;
  if (spec.proto === 'tcp') {
    seg = Buffer.alloc(20 + payload.length);
    seg.writeUInt16BE(spec.sport, 0);
    seg.writeUInt16BE(spec.dport, 2);
    seg.writeUInt32BE(0x01020304, 4);
    seg.writeUInt32BE(0, 8);
    seg[12] = 5 << 4;
    seg[13] = spec.tcpFlags ?? TCP_SYN;
    seg.writeUInt16BE(65535, 14);
    payload.copy(seg, 20);
    csumAt = 16;
  } else {
    seg = Buffer.alloc(8 + payload.length);
    seg.writeUInt16BE(spec.sport, 0);
    seg.writeUInt16BE(spec.dport, 2);
    seg.writeUInt16BE(seg.length, 4);
    payload.copy(seg, 8);
    csumAt = 6;
  }
  if (spec.proto === 'udp' && spec.udpNoChecksum) return seg;
  const proto = spec.proto === 'tcp' ? 6 : 17;
  let c = checksum(seg, pseudoHeaderSum(src, dst, proto, seg.length));
  if (c === 0 && spec.proto === 'udp') c = 0xffff;
  seg.writeUInt16BE(c, csumAt);
  return seg;
}

export function ipv4Header(opts: {
  src: Buffer;
  dst: Buffer;
  proto: number;
  payloadLength: number;
  ttl?: number;
  tos?: number;
  df?: boolean;
  options?: Buffer;
}): Buffer {
  const options = opts.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20 + options.length);
  h[0] = 0x40 | (h.length / 4);
  h[1] = opts.tos ?? 0;
  h.writeUInt16BE(h.length + opts.payloadLength, 2);
  h.writeUInt16BE(0, 4);
  h.writeUInt16BE(opts.df === false ? 0 : 0x4000, 6);
  h[8] = opts.ttl ?? 64;
  h[9] = opts.proto;
  opts.src.copy(h, 12);
  opts.dst.copy(h, 16);
  options.copy(h, 20);
  h.writeUInt16BE(checksum(h), 10);
  return h;
}

export function ipv6Header(opts: {
  src: Buffer;
  dst: Buffer;
  nextHeader: number;
  payloadLength: number;
  hopLimit?: number;
  tclass?: number;
}): Buffer {
  const h = Buffer.alloc(40);
  const tc = opts.tclass ?? 0;
  h.writeUInt32BE(((6 << 28) | (tc << 20)) >>> 0, 0);
  h.writeUInt16BE(opts.payloadLength, 4);
  h[6] = opts.nextHeader;
  h[7] = opts.hopLimit ?? 64;
  opts.src.copy(h, 8);
  opts.dst.copy(h, 24);
  return h;
}

/** An IP packet (no link layer). */
export function ipPacket(spec: PacketSpec): Buffer {
  const src = addrBuf(spec.src);
  const dst = addrBuf(spec.dst);
  const seg = l4Segment(spec, src, dst);
  const proto = spec.proto === 'tcp' ? 6 : 17;
  if (src.length === 4) {
    const h = ipv4Header({
      src,
      dst,
      proto,
      payloadLength: seg.length,
      ...(spec.ttl === undefined ? {} : { ttl: spec.ttl }),
      ...(spec.tos === undefined ? {} : { tos: spec.tos }),
      ...(spec.df === undefined ? {} : { df: spec.df }),
      ...(spec.ipOptions === undefined ? {} : { options: spec.ipOptions }),
    });
    return Buffer.concat([h, seg]);
  }
  const ext = spec.ipv6Ext ?? [];
  const extBufs = ext.map((_, i) => {
    const b = Buffer.alloc(8);
    b[0] = ext[i + 1] ?? proto;
    return b;
  });
  const body = Buffer.concat([...extBufs, seg]);
  const h = ipv6Header({
    src,
    dst,
    nextHeader: ext[0] ?? proto,
    payloadLength: body.length,
    ...(spec.ttl === undefined ? {} : { hopLimit: spec.ttl }),
    ...(spec.tos === undefined ? {} : { tclass: spec.tos }),
  });
  return Buffer.concat([h, body]);
}

export function ethernet(frame: FrameSpec, etherType: number, payload: Buffer): Buffer {
  const dst = macToBytes('dst', frame.dstMac ?? DIRECTOR_MAC);
  const src = macToBytes('src', frame.srcMac ?? CLIENT_MAC);
  const parts: Buffer[] = [dst, src];
  if (frame.vlan !== undefined) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(0x8100, 0);
    tag.writeUInt16BE(frame.vlan, 2);
    parts.push(tag);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(etherType);
  parts.push(type, payload);
  return Buffer.concat(parts);
}

export function etherTypeOf(ip: Buffer): number {
  return ip[0]! >> 4 === 4 ? 0x0800 : 0x86dd;
}

/** Ethernet frame around an IP packet. */
export function frame(spec: PacketSpec & FrameSpec): Buffer {
  const ip = ipPacket(spec);
  return ethernet(spec, etherTypeOf(ip), ip);
}

/**
 * ICMP "fragmentation needed" (IPv4) or ICMPv6 "packet too big" from a router
 * to `to`, quoting the start of `quoted` (an IP packet).
 */
export function icmpTooBig(
  from: string,
  to: string,
  quoted: Buffer,
  mtu: number,
  opts: { quoteBytes?: number; tos?: number; df?: boolean } = {},
): Buffer {
  const src = addrBuf(from);
  const dst = addrBuf(to);
  if (src.length === 4) {
    const body = quoted.subarray(0, Math.min(quoted.length, opts.quoteBytes ?? 28));
    const icmp = Buffer.alloc(8 + body.length);
    icmp[0] = 3;
    icmp[1] = 4;
    icmp.writeUInt16BE(mtu, 6);
    body.copy(icmp, 8);
    icmp.writeUInt16BE(checksum(icmp), 2);
    const ip = ipv4Header({
      src,
      dst,
      proto: 1,
      payloadLength: icmp.length,
      ...(opts.tos === undefined ? {} : { tos: opts.tos }),
      ...(opts.df === undefined ? {} : { df: opts.df }),
    });
    return Buffer.concat([ip, icmp]);
  }
  const body = quoted.subarray(0, Math.min(quoted.length, opts.quoteBytes ?? 48));
  const icmp = Buffer.alloc(8 + body.length);
  icmp[0] = 2;
  icmp.writeUInt32BE(mtu, 4);
  body.copy(icmp, 8);
  icmp.writeUInt16BE(checksum(icmp, pseudoHeaderSum(src, dst, 58, icmp.length)), 2);
  return Buffer.concat([
    ipv6Header({ src, dst, nextHeader: 58, payloadLength: icmp.length }),
    icmp,
  ]);
}

/** ICMP checksum problems of an IPv4 ICMP or ICMPv6 packet (empty = good). */
export function icmpProblems(ip: Buffer): string[] {
  if (ip[0]! >> 4 === 4) {
    const ihl = (ip[0]! & 0xf) * 4;
    return checksum(ip.subarray(ihl, ip.readUInt16BE(2))) === 0 ? [] : ['ICMP checksum'];
  }
  const body = ip.subarray(40, 40 + ip.readUInt16BE(4));
  const sum = pseudoHeaderSum(ip.subarray(8, 24), ip.subarray(24, 40), 58, body.length);
  return checksum(body, sum) === 0 ? [] : ['ICMPv6 checksum'];
}

/**
 * Verifies every checksum of an Ethernet frame carrying IPv4/IPv6 with TCP,
 * UDP or an IPIP/IPv6 tunnel; returns a list of problems (empty = all good).
 */
export function checksumProblems(frameBytes: Buffer): string[] {
  let off = 12;
  let type = frameBytes.readUInt16BE(off);
  if (type === 0x8100) {
    off += 4;
    type = frameBytes.readUInt16BE(off);
  }
  return ipProblems(frameBytes.subarray(off + 2));
}

function ipProblems(ip: Buffer): string[] {
  const problems: string[] = [];
  const version = ip[0]! >> 4;
  let proto: number;
  let l4: Buffer;
  let src: Buffer;
  let dst: Buffer;
  if (version === 4) {
    const ihl = (ip[0]! & 0xf) * 4;
    if (checksum(ip.subarray(0, ihl)) !== 0) problems.push('IPv4 header checksum');
    proto = ip[9]!;
    src = ip.subarray(12, 16);
    dst = ip.subarray(16, 20);
    l4 = ip.subarray(ihl, ip.readUInt16BE(2));
  } else {
    proto = ip[6]!;
    src = ip.subarray(8, 24);
    dst = ip.subarray(24, 40);
    l4 = ip.subarray(40, 40 + ip.readUInt16BE(4));
    // Skip the (8-byte) extension headers the builder writes.
    while (proto === 0 || proto === 43 || proto === 60) {
      proto = l4[0]!;
      l4 = l4.subarray(8);
    }
  }
  if (proto === 4 || proto === 41) return problems.concat(ipProblems(l4));
  if (proto === 6 || proto === 17) {
    if (proto === 17 && version === 4 && l4.readUInt16BE(6) === 0) return problems;
    if (checksum(l4, pseudoHeaderSum(src, dst, proto, l4.length)) !== 0) {
      problems.push(`${proto === 6 ? 'TCP' : 'UDP'} checksum`);
    }
  }
  return problems;
}
