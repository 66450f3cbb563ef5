/**
 * Kernel IPVS's connection table as `ipvsadm -Lnc` lists it. IPVS's generic
 * netlink family has no command for connections, so this reads what ipvsadm
 * reads: /proc/net/ip_vs_conn of the calling process's network namespace,
 * one line per connection ("TCP 0A000001 9C40 0A000064 0050 0A00000B 0050
 * ESTABLISHED 899"; IPv6 addresses in full colon form), streamed in chunks.
 */
import { open } from 'node:fs/promises';
import { LbctlError } from '../../errors.js';
import { bytesToAddress } from '../../net/address.js';
import { LoopSlicer } from '../../time/loop-slice.js';
import type { ConnectionRow } from '../dataplane.js';
import {
  CLIENT,
  DESTINATION,
  endpointBytes,
  IpvsConnectionFields,
  readIpvsConnectionFields,
  VIRTUAL,
} from './ipvs-connection-fields.js';

export const IPVS_CONNECTIONS_PATH = '/proc/net/ip_vs_conn';

/** One row of ipvsadm -Lnc; IPVS's states also include TIME_WAIT, CLOSE, LAST_ACK, ... */
export type IpvsConnection = ConnectionRow;

/** Rows handed over at most between two batches. */
const CHUNK = 512;
/** One read of the table (about 720 rows): the next is read while this one is parsed. */
const READ_BYTES = 64 * 1024;
/** A row is under 200 bytes (IPv6); a longer line is not one, and is not held whole. */
const MAX_LINE_BYTES = 1024;
/** Lines parsed between two looks at the clock. */
const LINES_PER_CHECK = 64;

/** Endpoint `n` of a row as ipvsadm -Lnc prints it: a.b.c.d:port, [v6]:port. */
function endpointText(fields: IpvsConnectionFields, n: number): string {
  const port = fields.port[n] as number;
  if (fields.family[n] === 4) {
    const a = fields.words[n * 4] as number;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${port}`;
  }
  return `[${bytesToAddress(endpointBytes(fields, n))}]:${port}`;
}

/** A row's fields as ipvsadm -Lnc lists them. */
export function ipvsConnectionOf(fields: IpvsConnectionFields): IpvsConnection {
  return {
    protocol: fields.protocol,
    expiresS: fields.expiresS,
    state: fields.state,
    source: endpointText(fields, CLIENT),
    virtual: endpointText(fields, VIRTUAL),
    destination: endpointText(fields, DESTINATION),
  };
}

const lineFields = new IpvsConnectionFields();

/** One line of /proc/net/ip_vs_conn; undefined for the header, other protocols or a line it cannot read. */
export function parseIpvsConnectionLine(line: string): IpvsConnection | undefined {
  return readIpvsConnectionFields(line, lineFields) ? ipvsConnectionOf(lineFields) : undefined;
}

async function openTable(path: string) {
  try {
    return await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'it does not exist (no ip_vs module loaded?)'
        : code === 'EACCES'
          ? 'permission denied'
          : (code ?? String(err));
    throw new LbctlError(
      'IPVS_UNAVAILABLE',
      `Cannot read IPVS's connection table ${path}: ${reason}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Calls onChunk with the connections, a few hundred at a time, and resolves
 * with the number listed; stops after `limit`, or at a chunk's end once
 * `until` returns true. Reading is asynchronous and the parsing is cut into
 * slices of the event loop (`slicer`, shared with a caller whose onChunk
 * takes its own share of a slice), so a large table never holds the loop.
 */
export async function listIpvsConnections(options: {
  readonly onChunk: (connections: IpvsConnection[]) => void | Promise<void>;
  readonly limit?: number;
  readonly until?: () => boolean;
  readonly path?: string;
  readonly slicer?: LoopSlicer;
}): Promise<number> {
  let chunk: IpvsConnection[] = [];
  return scanIpvsConnections({
    ...options,
    onRow: (fields) => void chunk.push(ipvsConnectionOf(fields)),
    onBatch: async () => {
      if (chunk.length === 0) return;
      const out = chunk;
      chunk = [];
      await options.onChunk(out);
    },
  });
}

/**
 * Reads the table line by line and calls onRow with each row's fields (the
 * record is reused: read it during the call), and onBatch after every 512
 * rows, when a slice of the event loop is used up and at the end; resolves
 * with the number of rows. Stops after `limit` rows, or after a batch once
 * `until` returns true. Reading is asynchronous and the parsing (with what
 * onRow and onBatch do) is cut into slices of the event loop (`slicer`), so
 * a large table never holds the loop.
 */
export async function scanIpvsConnections(options: {
  readonly onRow: (fields: IpvsConnectionFields) => void;
  readonly onBatch: () => void | Promise<void>;
  readonly limit?: number;
  readonly until?: () => boolean;
  readonly path?: string;
  readonly slicer?: LoopSlicer;
}): Promise<number> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const slicer = options.slicer ?? new LoopSlicer();
  const fields = new IpvsConnectionFields();
  const file = await openTable(options.path ?? IPVS_CONNECTIONS_PATH);
  const buffers = [Buffer.alloc(READ_BYTES), Buffer.alloc(READ_BYTES)] as const;
  // Sequential reads (position null): a /proc seq_file is read on from where the last read ended.
  const read = (n: number) =>
    file.read(buffers[n % 2] as Buffer, 0, READ_BYTES, null).then((r) => r.bytesRead);
  let listed = 0;
  let seen = 0;
  /** Rows since the last batch. */
  let batched = 0;
  /** Hands the batch over; false once `until` says to stop. */
  const handOver = async () => {
    if (batched > 0) {
      batched = 0;
      await options.onBatch();
    }
    return options.until?.() !== true;
  };
  /**
   * Reads the lines of `text` from `from` to `to` (split by newlines, the
   * last ending at `to`) in place; false once the listing is to stop. It
   * awaits only to hand a batch over or to yield, not once per line.
   */
  const take = async (text: string, from: number, to: number) => {
    for (let start = from; start <= to; ) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 || newline > to ? to : newline;
      if (++seen % LINES_PER_CHECK === 0 && slicer.used()) {
        if (!(await handOver())) return false;
        await slicer.maybeYield();
      }
      if (readIpvsConnectionFields(text, fields, start, end)) {
        options.onRow(fields);
        listed++;
        if (++batched >= CHUNK && !(await handOver())) return false;
        if (listed >= limit) return false;
      }
      start = end + 1;
    }
    return true;
  };
  let pending: Promise<number> | undefined = read(0);
  try {
    /** The unfinished last line of the reads so far. */
    let carry = '';
    /** Set while the rest of an overlong line is still to come: it is dropped. */
    let overlong = false;
    let going = true;
    for (let n = 0; going && pending !== undefined; n++) {
      const bytes: number = await pending;
      // The next read fills the other buffer while this one is parsed.
      pending = bytes > 0 ? read(n + 1) : undefined;
      if (bytes === 0) break;
      // Resumed by a read's completion: the slice starts after this turn's timers.
      await slicer.nextSlice();
      const text = carry + (buffers[n % 2] as Buffer).toString('latin1', 0, bytes);
      // Whole lines end at the last newline; what follows it is carried to the next read.
      const last = text.lastIndexOf('\n');
      carry = last < 0 ? text : text.slice(last + 1);
      let first = 0;
      // The rest of an overlong line is dropped with the first newline.
      if (overlong && last >= 0) {
        first = text.indexOf('\n') + 1;
        overlong = false;
      }
      if (carry.length > MAX_LINE_BYTES) {
        carry = '';
        overlong = true;
      }
      if (last >= first) going = await take(text, first, last);
    }
    if (going && !overlong && carry !== '') await take(carry, 0, carry.length);
  } finally {
    // A read still under way must end before the file closes.
    await pending?.catch(() => 0);
    await file.close();
  }
  if (batched > 0) await options.onBatch();
  return listed;
}
