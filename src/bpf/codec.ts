import { isIPv4, isIPv6 } from 'node:net';
import { LbctlError } from '../errors.js';

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
    (b, o, v: string) => ipv4ToBytes(name, v).copy(b, o),
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
    (b, o) => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
    (b, o, v: string) => macToBytes(name, v).copy(b, o),
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
          f.write(buf, o, v);
        } catch (err) {
          if (err instanceof LbctlError) throw err;
          throw new LbctlError(
            'CODEC_INVALID_VALUE',
            `Cannot encode struct ${name}: field ${f.name} = ${String(v)}: ${(err as Error).message}`,
          );
        }
      }
      return buf;
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

export function ipv4ToBytes(what: string, text: string): Buffer {
  if (!isIPv4(text))
    throw new LbctlError(
      'CODEC_INVALID_VALUE',
      `Cannot encode ${what}: '${text}' is not an IPv4 address`,
    );
  return Buffer.from(text.split('.').map(Number));
}

export function ipv4ToString(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

export function ipv6ToBytes(what: string, text: string): Buffer {
  if (!isIPv6(text))
    throw new LbctlError(
      'CODEC_INVALID_VALUE',
      `Cannot encode ${what}: '${text}' is not an IPv6 address`,
    );
  let head = text;
  let v4tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    v4tail = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const l = parse(left);
  const r = right === undefined ? [] : parse(right);
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(g, i * 2);
  if (v4tail.length === 4) Buffer.from(v4tail).copy(out, 12);
  return out;
}

export function ipv6ToString(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // Compress the longest run of two or more zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function macToBytes(what: string, text: string): Buffer {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new LbctlError(
      'CODEC_INVALID_VALUE',
      `Cannot encode ${what}: '${text}' is not a MAC address`,
    );
  }
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}
