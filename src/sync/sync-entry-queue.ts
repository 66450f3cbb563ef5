/**
 * Sync entries already in their wire form (ip_vs_sync_v4 / _v6, no
 * options), queued in order: appended one at a time as they are made, taken
 * from the front as version-1 messages. The entries lie back to back in one
 * buffer, so a message is its header and one copy, and a queue of 100,000
 * connections is one buffer rather than 100,000 objects for the collector.
 */
import {
  HEADER_BYTES,
  opensNewMessage,
  V4_ENTRY_BYTES,
  V6_ENTRY_BYTES,
  writeSyncHeader,
} from './ipvs-sync-codec.js';

const INITIAL_BYTES = 16 * 1024;

const viewOf = (bytes: Buffer) => new DataView(bytes.buffer, bytes.byteOffset, bytes.length);

export class SyncEntryQueue {
  /** The entries' bytes; replaced when the queue grows, so read it after `append`. */
  bytes: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  /** `bytes` to write entries through. */
  view: DataView = viewOf(this.bytes);
  /** Where each entry starts in `bytes`; those before `head` are taken. */
  private starts: number[] = [];
  private head = 0;
  /** Where the next entry goes. */
  private end = 0;

  /** Entries queued and not yet taken. */
  get length(): number {
    return this.starts.length - this.head;
  }

  /**
   * Makes room for one entry (IPv6 or IPv4) at the end and returns where in
   * `bytes` (and `view`) to write it.
   */
  append(ipv6: boolean): number {
    const size = ipv6 ? V6_ENTRY_BYTES : V4_ENTRY_BYTES;
    // Taken entries make way once they are at least as many as the rest (each moved once on average).
    if (this.head > 0 && this.head >= this.length) this.compact();
    if (this.end + size > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.end + size));
      this.bytes.copy(grown, 0, 0, this.end);
      this.bytes = grown;
      this.view = viewOf(grown);
    }
    const at = this.end;
    this.starts.push(at);
    this.end += size;
    return at;
  }

  /** Drops the last entry; false when there is none. */
  pop(): boolean {
    if (this.length === 0) return false;
    this.end = this.starts.pop() as number;
    return true;
  }

  /**
   * The first `count` entries as messages of at most `maxLength` bytes and
   * 255 entries each (as encodeSyncMessages packs them), each taken off the
   * queue as it is made.
   */
  *takeMessages(syncId: number, count: number, maxLength: number): Generator<Buffer> {
    // Positions are read afresh for each message: an append meanwhile may move the entries.
    for (let left = Math.min(count, this.length); left > 0; ) {
      const first = this.head;
      const stop = first + left;
      let next = first;
      let bytes = HEADER_BYTES;
      while (next < stop) {
        const size = this.endOf(next) - (this.starts[next] as number);
        if (opensNewMessage(next - first, bytes, size, maxLength)) break;
        bytes += size;
        next++;
      }
      const out = Buffer.allocUnsafe(bytes);
      writeSyncHeader(out, syncId, next - first);
      this.bytes.copy(out, HEADER_BYTES, this.starts[first] as number, this.endOf(next - 1));
      this.head = next;
      left -= next - first;
      yield out;
    }
  }

  private endOf(entry: number): number {
    return entry + 1 < this.starts.length ? (this.starts[entry + 1] as number) : this.end;
  }

  /** Moves the entries not yet taken to the front. */
  private compact(): void {
    const from = this.head < this.starts.length ? (this.starts[this.head] as number) : this.end;
    this.bytes.copy(this.bytes, 0, from, this.end);
    this.starts = this.starts.slice(this.head).map((start) => start - from);
    this.end -= from;
    this.head = 0;
  }
}
