/**
 * The last send of a director whose services run on kernel IPVS, before it
 * hands its VIPs over. The kernel's master sync daemon holds a connection in
 * a buffer until the buffer is 2 s old (IPVS_SYNC_FLUSH_TIME, checked every
 * IPVS_SYNC_CHECK_PERIOD, 1 s) and frees that buffer unsent when it is
 * stopped (sync_thread_master), so the connections of a master's last ~3 s
 * never reach a backup. lbctl sends them itself, in the kernel's protocol:
 * it reads the kernel's connection table (/proc/net/ip_vs_conn) and sends
 * every connection, the recently active ones first, to the backups' sync
 * daemons, which store them as they store the kernel's own messages (any
 * sender, same group, port and sync id: ip_vs_process_message checks no
 * source). Bounded in connections and time, paced so a backup's socket
 * buffer keeps up.
 */

import type { Timeouts } from '../dataplane/dataplane.js';
import type { IpvsConnectionFields } from '../dataplane/ipvs/ipvs-connection-fields.js';
import { scanIpvsConnections } from '../dataplane/ipvs/ipvs-connections.js';
import type { Clock } from '../time/clock.js';
import { LoopSlicer } from '../time/loop-slice.js';
import {
  type IpvsEntrySkip,
  IpvsRowEntry,
  type IpvsServiceIndex,
  mapIpvsRow,
  queueIpvsRowEntry,
} from './ipvs-connection-entry.js';
import { V4_ENTRY_BYTES } from './ipvs-sync-codec.js';
import type { SyncSender } from './multicast-transport.js';
import { SyncEntryQueue } from './sync-entry-queue.js';

export interface IpvsHandoffBounds {
  /** Connections sent at most (the rest of a larger table is left to what the kernel sent). */
  readonly maxConnections: number;
  /** Time from the first read to the last send leaving, at most. */
  readonly timeMs: number;
  /** Messages sent between two pauses. */
  readonly messagesPerBurst: number;
}

/**
 * 100,000 connections or 2 s, whichever comes first; 8 messages (320 IPv4
 * connections at the default maxlen) per pause of about a millisecond, so
 * about 2,500 messages go in a few hundred milliseconds and a backup's
 * default socket buffer (~90 datagrams) is never flooded.
 */
export const IPVS_HANDOFF_BOUNDS: IpvsHandoffBounds = {
  maxConnections: 100_000,
  timeMs: 2_000,
  messagesPerBurst: 8,
};

/**
 * A connection idle this long or less is "recent": the kernel may still hold
 * it unsent (a connection enters the buffer at a packet, and the buffer waits
 * up to 2 s plus a 1 s check), so recent ones go first.
 */
export const RECENT_IDLE_S = 5;

/** The last sends are given this long to leave, even past the time bound. */
const MIN_FLUSH_MS = 100;
/** A turn of the event loop reads, maps or encodes this long at most (a GC pause may add to it). */
const SLICE_MS = 1;

export interface IpvsHandoffResult {
  /** Rows read from the table. */
  readonly listed: number;
  readonly sentConnections: number;
  readonly sentMessages: number;
  readonly skipped: Readonly<Partial<Record<IpvsEntrySkip, number>>>;
  /** Set when a bound ended the hand-off before the whole table was sent. */
  readonly cut?: 'connections' | 'time';
  /** Connections the count bound left out. */
  readonly left: number;
  readonly elapsedMs: number;
}

export interface IpvsHandoffOptions {
  readonly services: IpvsServiceIndex;
  /** The kernel's timeouts (ipvsadm --set), to tell a recently active connection from an idle one. */
  readonly timeouts: Timeouts;
  readonly syncId: number;
  readonly maxLength: number;
  readonly sender: SyncSender;
  readonly clock: Clock;
  /** Waits between bursts (about a millisecond; tests move a fake clock). */
  readonly pause: () => Promise<void>;
  readonly bounds?: IpvsHandoffBounds;
  /** The table to read (tests); /proc/net/ip_vs_conn by default. */
  readonly path?: string;
}

/** True when a row had a packet within RECENT_IDLE_S (its timer restarts at each packet). */
function isRecent(
  row: Pick<IpvsConnectionFields, 'state' | 'protocol' | 'expiresS'>,
  timeouts: Timeouts,
): boolean {
  const full =
    row.state === 'ESTABLISHED'
      ? timeouts.tcpS
      : row.protocol === 'udp'
        ? timeouts.udpS
        : undefined;
  // Other states' timeouts are short (SYN_RECV 60 s, FIN_WAIT tcpfin): all of them go first.
  return full === undefined || row.expiresS >= full - RECENT_IDLE_S;
}

/** Sends the kernel's connection table to the backups; never throws for a row. */
export async function handOffIpvsConnections(
  options: IpvsHandoffOptions,
): Promise<IpvsHandoffResult> {
  const bounds = options.bounds ?? IPVS_HANDOFF_BOUNDS;
  const { clock, sender } = options;
  const started = clock.now();
  const deadline = started + bounds.timeMs;
  const burst =
    Math.max(1, Math.floor((options.maxLength - 8) / V4_ENTRY_BYTES)) * bounds.messagesPerBurst;
  const skipped: Partial<Record<IpvsEntrySkip, number>> = {};
  // Entries wait in wire form: the recently active ones to go first, the idle ones after.
  const later = new SyncEntryQueue();
  const pending = new SyncEntryQueue();
  const entry = new IpvsRowEntry();
  let taken = 0;
  let sentConnections = 0;
  let sentMessages = 0;
  /** Connections the count bound left out. */
  let dropped = 0;
  let readCut = false;
  const timeUp = () => clock.now() >= deadline;
  // Reading, mapping and encoding share one budget per turn of the event loop (VRRP shares it).
  const slicer = new LoopSlicer(SLICE_MS);

  /** Sends the first `count` entries of `queue`. */
  const send = async (queue: SyncEntryQueue, count: number) => {
    const connections = Math.min(count, queue.length);
    for (const message of queue.takeMessages(options.syncId, count, options.maxLength)) {
      sender.send(message);
      sentMessages++;
      await slicer.maybeYield();
    }
    sentConnections += connections;
    await options.pause();
    // Resumed by a timer: the next slice starts after this turn's other timers.
    await slicer.nextSlice();
  };

  const listed = await scanIpvsConnections({
    ...(options.path !== undefined ? { path: options.path } : {}),
    slicer,
    until: () => {
      readCut = timeUp();
      return readCut;
    },
    // Mapped as read: the reading's slices take the mapping's time into account.
    onRow: (row) => {
      const skip = mapIpvsRow(row, options.services, entry);
      if (skip !== undefined) {
        skipped[skip] = (skipped[skip] ?? 0) + 1;
        return;
      }
      const recent = isRecent(row, options.timeouts);
      if (taken < bounds.maxConnections) taken++;
      // Past the bound a recent connection takes an idle one's place; an idle one is left.
      else if (recent && later.pop()) dropped++;
      else {
        dropped++;
        return;
      }
      queueIpvsRowEntry(recent ? pending : later, row, entry);
    },
    onBatch: async () => {
      while (pending.length >= burst && !timeUp()) await send(pending, burst);
    },
  });
  // What the table read left: the last recent ones, then the idle ones, while time remains.
  let sendCut = false;
  for (const rest of [pending, later]) {
    while (rest.length > 0 && !sendCut) {
      sendCut = timeUp();
      if (!sendCut) await send(rest, burst);
    }
  }
  const cut = readCut || sendCut ? 'time' : dropped > 0 ? 'connections' : undefined;
  // The last burst gets a moment to leave even when the time bound is spent.
  await sender.flush(Math.max(MIN_FLUSH_MS, deadline - clock.now()));
  return {
    listed,
    sentConnections,
    sentMessages,
    skipped,
    ...(cut !== undefined ? { cut } : {}),
    left: dropped,
    elapsedMs: clock.now() - started,
  };
}
