/**
 * Kernel IPVS's connection table as `ipvsadm -Lnc` lists it. IPVS's generic
 * netlink family has no command for connections, so this reads what ipvsadm
 * reads: /proc/net/ip_vs_conn of the calling process's network namespace,
 * one line per connection ("TCP 0A000001 9C40 0A000064 0050 0A00000B 0050
 * ESTABLISHED 899"; IPv6 addresses in full colon form), streamed in chunks.
 */
import { open } from 'node:fs/promises';
import { LbctlError } from '../../errors.js';
import { canonicalAddress } from '../../net/address.js';
import { LoopSlicer } from '../../time/loop-slice.js';
import type { ConnectionRow, Protocol } from '../dataplane.js';

export const IPVS_CONNECTIONS_PATH = '/proc/net/ip_vs_conn';

/** One row of ipvsadm -Lnc; IPVS's states also include TIME_WAIT, CLOSE, LAST_ACK, ... */
export type IpvsConnection = ConnectionRow;

const PROTOCOLS: Readonly<Record<string, Protocol>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const CHUNK = 512;
/** One read of the table (about 720 rows): the next is read while this one is parsed. */
const READ_BYTES = 64 * 1024;
/** A row is under 200 bytes (IPv6); a longer line is not one, and is not held whole. */
const MAX_LINE_BYTES = 1024;
/** Lines parsed between two looks at the clock. */
const LINES_PER_CHECK = 64;

function endpoint(address: string, portHex: string): string | undefined {
  const port = Number.parseInt(portHex, 16);
  if (!/^[0-9A-Fa-f]{4}$/.test(portHex)) return undefined;
  if (/^[0-9A-Fa-f]{8}$/.test(address)) {
    const n = Number.parseInt(address, 16);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:${port}`;
  }
  if (!/^[0-9A-Fa-f:]+$/.test(address) || !address.includes(':')) return undefined;
  try {
    return `[${canonicalAddress(address)}]:${port}`;
  } catch {
    return undefined;
  }
}

/** One line of /proc/net/ip_vs_conn; undefined for the header, other protocols or a line it cannot read. */
export function parseIpvsConnectionLine(line: string): IpvsConnection | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 9) return undefined;
  const protocol = PROTOCOLS[f[0]!];
  if (protocol === undefined) return undefined;
  const source = endpoint(f[1]!, f[2]!);
  const virtual = endpoint(f[3]!, f[4]!);
  const destination = endpoint(f[5]!, f[6]!);
  const expiresS = Number(f[8]);
  if (source === undefined || virtual === undefined || destination === undefined) return undefined;
  if (!Number.isInteger(expiresS) || expiresS < 0) return undefined;
  return { protocol, expiresS, state: f[7]!, source, virtual, destination };
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
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const slicer = options.slicer ?? new LoopSlicer();
  const file = await openTable(options.path ?? IPVS_CONNECTIONS_PATH);
  const buffers = [Buffer.alloc(READ_BYTES), Buffer.alloc(READ_BYTES)] as const;
  // Sequential reads (position null): a /proc seq_file is read on from where the last read ended.
  const read = (n: number) =>
    file.read(buffers[n % 2] as Buffer, 0, READ_BYTES, null).then((r) => r.bytesRead);
  let listed = 0;
  let seen = 0;
  let chunk: IpvsConnection[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const out = chunk;
    chunk = [];
    await options.onChunk(out);
  };
  /** Hands the chunk over; false once `until` says to stop. */
  const handOver = async () => {
    await flush();
    return options.until?.() !== true;
  };
  /** Parses one line; false once the listing is to stop. */
  const take = async (line: string) => {
    if (++seen % LINES_PER_CHECK === 0 && slicer.used()) {
      if (!(await handOver())) return false;
      await slicer.maybeYield();
    }
    const connection = parseIpvsConnectionLine(line);
    if (connection === undefined) return true;
    chunk.push(connection);
    listed++;
    if (chunk.length >= CHUNK && !(await handOver())) return false;
    return listed < limit;
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
      const lines = (carry + (buffers[n % 2] as Buffer).toString('latin1', 0, bytes)).split('\n');
      carry = lines.pop() as string;
      if (overlong && lines.shift() !== undefined) overlong = false;
      if (carry.length > MAX_LINE_BYTES) {
        carry = '';
        overlong = true;
      }
      for (const line of lines) {
        going = await take(line);
        if (!going) break;
      }
    }
    if (going && !overlong && carry !== '') await take(carry);
  } finally {
    // A read still under way must end before the file closes.
    await pending?.catch(() => 0);
    await file.close();
  }
  await flush();
  return listed;
}
