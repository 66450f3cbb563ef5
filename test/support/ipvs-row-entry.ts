/**
 * A /proc/net/ip_vs_conn line through the IPVS hand-off's mapping, as the
 * entry a backup decodes from the message it is sent in (or why it is not
 * sent): the path ipvs-table-handoff.ts takes, one row at a time.
 */
import {
  IpvsConnectionFields,
  readIpvsConnectionFields,
} from '../../src/dataplane/ipvs/ipvs-connection-fields.js';
import {
  type IpvsEntrySkip,
  IpvsRowEntry,
  type IpvsServiceIndex,
  mapIpvsRow,
  queueIpvsRowEntry,
} from '../../src/sync/ipvs-connection-entry.js';
import {
  decodeSyncMessage,
  IPVS_SYNC_DEFAULT_MAXLEN,
  type SyncConnection,
} from '../../src/sync/ipvs-sync-codec.js';
import { SyncEntryQueue } from '../../src/sync/sync-entry-queue.js';

/** The message (sync id 1) holding the line's entry; a skip reason, or 'unread' for a line the reader drops. */
export function syncMessageOfLine(
  line: string,
  services: IpvsServiceIndex,
): Buffer | IpvsEntrySkip | 'unread' {
  const fields = new IpvsConnectionFields();
  if (!readIpvsConnectionFields(line, fields)) return 'unread';
  const entry = new IpvsRowEntry();
  const skip = mapIpvsRow(fields, services, entry);
  if (skip !== undefined) return skip;
  const queue = new SyncEntryQueue();
  queueIpvsRowEntry(queue, fields, entry);
  const [message] = queue.takeMessages(1, 1, IPVS_SYNC_DEFAULT_MAXLEN);
  return message as Buffer;
}

/** The line's entry as the backup decodes it; a skip reason, or 'unread'. */
export function syncEntryOfLine(
  line: string,
  services: IpvsServiceIndex,
): SyncConnection | IpvsEntrySkip | 'unread' {
  const message = syncMessageOfLine(line, services);
  if (typeof message === 'string') return message;
  const decoded = decodeSyncMessage(message, 1);
  if (!decoded.ok || decoded.message.connections.length !== 1) {
    throw new Error(`the entry's message does not decode: ${message.toString('hex')}`);
  }
  return decoded.message.connections[0] as SyncConnection;
}
