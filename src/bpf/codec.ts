import { isIPv6 } from 'node:net';
import { LbctlError } from '../errors.js';
import { addressToBytes, bytesToAddress, ipv4Number } from '../net/address.js';
import { macToString, writeMac } from '../net/mac.js';

/**
 * Struct layouts for values crossing the kernel/user boundary, defined once
 * per struct with C's natural alignment, so encode/decode and the BTF check
 * share one description.
 */
export interface StructField<N extends string = string, V = unknown> {
  readonly name: N;
  readonly size: number;
  readonly align: number;
  /** Padding is zero on encode and absent from decoded values. */
  readonly padding?: true;
  read(buf: Buffer, offset: number): V;
  write(buf: Buffer, offset: number, value: V): void;
}

type FieldValue<F> = F extends StructField<string, infer V> ? V : never;

export type StructValue<F extends readonly StructField[]> = {
  [P in F[number] as P extends { padding: true } ? never : P['name']]: FieldValue<P>;
};

export interface StructCodec<T> {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly { name: string; offset: number; size: number }[];
  offsetOf(field: keyof T & string): number;
  encode(value: T): Buffer;
  /** Writes the struct at `offset` of `into` (padding zeroed), e.g. one entry of a batch. */
  encodeInto(value: T, into: Buffer, offset: number): void;
  decode(buf: Buffer, offset?: number): T;
}

function field<N extends string, V>(
  name: N,
  size: number,
  align: number,
  read: (buf: Buffer, offset: number) => V,
  write: (buf: Buffer, offset: number, value: V) => void,
): StructField<N, V> {
  return { name, size, align, read, write };
}

/** Host-order (little-endian on the machines we run on) unsigned integers. */
export const u8 = <N extends string>(name: N) =>
  field(
    name,
    1,
    1,
    (b, o) => b.readUInt8(o),
    (b, o, v: number) => b.writeUInt8(v, o),
  );
export const u16 = <N extends string>(name: N) =>
  field(
    name,
    2,
    2,
    (b, o) => b.readUInt16LE(o),
    (b, o, v: number) => b.writeUInt16LE(v, o),
  );
export const u32 = <N extends string>(name: N) =>
  field(
    name,
    4,
    4,
    (b, o) => b.readUInt32LE(o),
    (b, o, v: number) => b.writeUInt32LE(v, o),
  );
export const u64 = <N extends string>(name: N) =>
  field(
    name,
    8,
    8,
    (b, o) => b.readBigUInt64LE(o),
    (b, o, v: bigint) => b.writeBigUInt64LE(v, o),
  );
/** Network-order integers (__be16, __be32). */
export const be16 = <N extends string>(name: N) =>
  field(
    name,
    2,
    2,
    (b, o) => b.readUInt16BE(o),
    (b, o, v: number) => b.writeUInt16BE(v, o),
  );
export const be32 = <N extends string>(name: N) =>
  field(
    name,
    4,
    4,
    (b, o) => b.readUInt32BE(o),
    (b, o, v: number) => b.writeUInt32BE(v, o),
  );

/** Raw bytes (char[n], or anything decoded by its caller). */
export const bytes = <N extends string>(name: N, size: number, align = 1) =>
  field(
    name,
    size,
    align,
    (b, o) => Buffer.from(b.subarray(o, o + size)),
    (b, o, v: Buffer) => {
      if (v.length !== size) {
        throw new LbctlError(
          'CODEC_INVALID_VALUE',
          `Cannot encode ${name}: expected ${size} bytes, got ${v.length}`,
        );
      }
      v.copy(b, o);
    },
  );

/** An IPv4 address in network order (__be32), as dotted text. */
export const ipv4 = <N extends string>(name: N) =>
  field(
    name,
    4,
    4,
    (b, o) => ipv4ToString(b.subarray(o, o + 4)),
    (b, o, v: string) => writeIpv4(name, v, b, o),
  );

/** An IPv6 address (struct in6_addr / __be32[4]), as text. */
export const ipv6 = <N extends string>(name: N) =>
  field(
    name,
    16,
    4,
    (b, o) => ipv6ToString(b.subarray(o, o + 16)),
    (b, o, v: string) => ipv6ToBytes(name, v).copy(b, o),
  );

/** A MAC address (__u8[6]) as "aa:bb:cc:dd:ee:ff". */
export const mac = <N extends string>(name: N) =>
  field(
    name,
    6,
    1,
    (b, o) => macToString(b.subarray(o, o + 6)),
    (b, o, v: string) => {
      if (!writeMac(v, b, o)) throw invalidMac(name, v);
    },
  );

/** Explicit padding, written as zeros and not decoded into the value. */
export const pad = <N extends string>(
  name: N,
  size: number,
): StructField<N, undefined> & { padding: true } => ({
  name,
  size,
  align: 1,
  padding: true,
  read: () => undefined,
  write: () => {},
});

export function struct<const F extends readonly StructField[]>(
  name: string,
  fields: F,
): StructCodec<StructValue<F>> {
  const layout: { field: StructField; offset: number }[] = [];
  let offset = 0;
  let maxAlign = 1;
  for (const f of fields) {
    offset = Math.ceil(offset / f.align) * f.align;
    layout.push({ field: f, offset });
    offset += f.size;
    maxAlign = Math.max(maxAlign, f.align);
  }
  const size = Math.ceil(offset / maxAlign) * maxAlign;
  const offsets = new Map(layout.map((l) => [l.field.name, l.offset]));
  const isPad = (f: StructField) => f.padding === true;

  return {
    name,
    size,
    fields: layout.map((l) => ({ name: l.field.name, offset: l.offset, size: l.field.size })),
    offsetOf(fieldName) {
      const o = offsets.get(fieldName);
      if (o === undefined)
        throw new LbctlError('CODEC_UNKNOWN_FIELD', `struct ${name} has no field ${fieldName}`);
      return o;
    },
    encode(value) {
      const buf = Buffer.alloc(size);
      this.encodeInto(value, buf, 0);
      return buf;
    },
    encodeInto(value, into, at) {
      if (into.length - at < size) {
        throw new LbctlError(
          'CODEC_SHORT_BUFFER',
          `Cannot encode struct ${name}: need ${size} bytes, have ${into.length - at}`,
        );
      }
      into.fill(0, at, at + size);
      const record = value as Record<string, unknown>;
      for (const { field: f, offset: o } of layout) {
        if (isPad(f)) continue;
        const v = record[f.name];
        if (v === undefined) {
          throw new LbctlError(
            'CODEC_INVALID_VALUE',
            `Cannot encode struct ${name}: field ${f.name} is missing`,
          );
        }
        try {
          f.write(into, at + o, v);
        } catch (err) {
          if (err instanceof LbctlError) throw err;
          throw new LbctlError(
            'CODEC_INVALID_VALUE',
            `Cannot encode struct ${name}: field ${f.name} = ${String(v)}: ${(err as Error).message}`,
          );
        }
      }
    },
    decode(buf, at = 0) {
      if (buf.length - at < size) {
        throw new LbctlError(
          'CODEC_SHORT_BUFFER',
          `Cannot decode struct ${name}: need ${size} bytes, have ${buf.length - at}`,
        );
      }
      const out: Record<string, unknown> = {};
      for (const { field: f, offset: o } of layout) {
        if (!isPad(f)) out[f.name] = f.read(buf, at + o);
      }
      return out as StructValue<F>;
    },
  };
}

/** Network-order bytes of an IPv4 address; errors name the field. */
export function ipv4ToBytes(what: string, text: string): Buffer {
  const bytes = Buffer.alloc(4);
  writeIpv4(what, text, bytes, 0);
  return bytes;
}

/** ipv4ToBytes written at `offset` of `into`. */
export function writeIpv4(what: string, text: string, into: Buffer, offset: number): void {
  const value = ipv4Number(text);
  if (value < 0) {
    throw new LbctlError(
      'CODEC_INVALID_VALUE',
      `Cannot encode ${what}: '${text}' is not an IPv4 address`,
    );
  }
  into.writeUInt32BE(value, offset);
}

export function ipv4ToString(b: Buffer): string {
  return bytesToAddress(b.subarray(0, 4));
}

/** Network-order bytes of an IPv6 address; errors name the field. */
export function ipv6ToBytes(what: string, text: string): Buffer {
  if (!isIPv6(text)) {
    throw new LbctlError(
      'CODEC_INVALID_VALUE',
      `Cannot encode ${what}: '${text}' is not an IPv6 address`,
    );
  }
  return addressToBytes(text);
}

export function ipv6ToString(b: Buffer): string {
  return bytesToAddress(b.subarray(0, 16));
}

/** The 6 bytes of a MAC address; errors name the field. */
export function macToBytes(what: string, text: string): Buffer {
  const bytes = Buffer.alloc(6);
  if (!writeMac(text, bytes, 0)) throw invalidMac(what, text);
  return bytes;
}

function invalidMac(what: string, text: string): LbctlError {
  return new LbctlError(
    'CODEC_INVALID_VALUE',
    `Cannot encode ${what}: '${text}' is not a MAC address`,
  );
}
