/**
 * Connection sync between directors, as keepalived drives IPVS's sync
 * daemons: while its VRRP instance is MASTER this director sends the flows
 * its data plane opens or changes; otherwise it receives and stores the
 * flows a master sends. Sending is batched (messages up to maxLength, sent
 * every SEND_INTERVAL_MS) and bounded per interval; receiving is bounded by
 * a queue of flows waiting to be stored. Anything malformed or foreign is
 * dropped and counted by reason, with rate-limited logs.
 */
import type { ConnectionSyncPort, LearnCounts, SyncedFlow } from '../dataplane/connection-sync.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { Clock, Timer } from '../time/clock.js';
import { toSyncConnection, toSyncedFlow } from './flow-mapping.js';
import {
  decodeSyncMessage,
  type EntrySkipReason,
  encodeSyncMessages,
  type MessageDropReason,
  V4_ENTRY_BYTES,
} from './ipvs-sync-codec.js';
import type { MulticastEndpoint, SyncReceiver, SyncSender } from './multicast-transport.js';

export interface ConnectionSyncSettings extends MulticastEndpoint {
  /** The VRRP instance whose state decides the role. */
  readonly vrrpInstance: string;
  /** 0-255; a receiver with 0 accepts any. */
  readonly syncId: number;
  /** Largest message sent, in bytes (UDP payload). */
  readonly maxLength: number;
}

export type SyncRole = 'master' | 'backup';

/** How often the master drains its data plane's reports and sends them (IPVS checks every 100 ms too). */
export const SEND_INTERVAL_MS = 100;
/** Messages a master sends per interval at most: 1,000 a second. Further reports wait in the ring. */
export const MAX_MESSAGES_PER_INTERVAL = 100;
/** How long a stopping master waits for its last messages to leave. */
const FLUSH_TIMEOUT_MS = 1000;
/** Flows received and not yet stored, at most; more are dropped as 'backlog'. */
export const MAX_PENDING_FLOWS = 16_384;
/** Flows stored per data-plane call. */
const LEARN_CHUNK = 512;

/** Why a received connection was not stored. */
export type ConnectionDropReason =
  | EntrySkipReason
  | 'backlog'
  | 'noService'
  | 'noReal'
  | 'invalid'
  | 'unsupported';

export interface ConnectionSyncCounters {
  readonly role: SyncRole | 'stopped';
  readonly sentMessages: number;
  readonly sentConnections: number;
  readonly receivedMessages: number;
  readonly receivedConnections: number;
  /** Stored connections by what storing did (stored, filled, evicted). */
  readonly learnt: Readonly<Pick<LearnCounts, 'stored' | 'filled' | 'evicted'>>;
  readonly droppedMessages: Readonly<Partial<Record<MessageDropReason, number>>>;
  readonly droppedConnections: Readonly<Partial<Record<ConnectionDropReason, number>>>;
  /** Send errors (buffer full, interface down). */
  readonly sendErrors: number;
}

export interface ConnectionSyncDeps {
  readonly port: ConnectionSyncPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly openSender: (
    endpoint: MulticastEndpoint,
    onError: (err: Error) => void,
  ) => Promise<SyncSender>;
  readonly openReceiver: (
    endpoint: MulticastEndpoint,
    onDatagram: (datagram: Buffer) => void,
    onError: (err: Error) => void,
  ) => Promise<SyncReceiver>;
}

export class ConnectionSync {
  private role: SyncRole | 'stopped' = 'stopped';
  private sender: SyncSender | undefined;
  private receiver: SyncReceiver | undefined;
  private timer: Timer | undefined;
  private pending: SyncedFlow[] = [];
  private learning = false;
  /** Role changes run one at a time, in order. */
  private roleChange: Promise<void> = Promise.resolve();
  private readonly limited: RateLimitedLog;
  private readonly counts = {
    sentMessages: 0,
    sentConnections: 0,
    receivedMessages: 0,
    receivedConnections: 0,
    sendErrors: 0,
  };
  private readonly learnt = { stored: 0, filled: 0, evicted: 0 };
  private readonly droppedMessages: Partial<Record<MessageDropReason, number>> = {};
  private readonly droppedConnections: Partial<Record<ConnectionDropReason, number>> = {};

  constructor(
    readonly settings: ConnectionSyncSettings,
    private readonly deps: ConnectionSyncDeps,
  ) {
    this.limited = new RateLimitedLog(deps.logger, deps.clock);
  }

  /** Switches to sending (master) or receiving (backup); repeated roles are no-ops. */
  setRole(role: SyncRole): Promise<void> {
    this.roleChange = this.roleChange.then(() => this.switchTo(role));
    return this.roleChange;
  }

  counters(): ConnectionSyncCounters {
    return {
      role: this.role,
      ...this.counts,
      learnt: { ...this.learnt },
      droppedMessages: { ...this.droppedMessages },
      droppedConnections: { ...this.droppedConnections },
    };
  }

  async close(): Promise<void> {
    await this.roleChange.catch(() => undefined);
    // A master sends what its data plane reported since the last interval, so
    // connections opened in its last 100 ms reach the backup too (the daemon
    // stops sync before VRRP, so the backup is still receiving).
    if (this.role === 'master') {
      this.tick();
      await this.sender?.flush(FLUSH_TIMEOUT_MS);
    }
    this.stopCurrent();
    this.role = 'stopped';
    this.limited.close();
    this.deps.port.close();
  }

  /** Receives one datagram (the receiver socket calls this; tests call it directly). */
  receive(datagram: Buffer): void {
    if (this.role !== 'backup') return;
    const decoded = decodeSyncMessage(datagram, this.settings.syncId);
    if (!decoded.ok) {
      bump(this.droppedMessages, decoded.reason);
      this.limited.warn(
        `message:${decoded.reason}`,
        { reason: decoded.reason, bytes: datagram.length },
        `connection sync: dropped a message (${decoded.reason})`,
      );
      return;
    }
    this.counts.receivedMessages++;
    for (const reason of decoded.message.skipped) this.dropConnection(reason);
    for (const connection of decoded.message.connections) {
      this.counts.receivedConnections++;
      const flow = toSyncedFlow(connection);
      if (flow === undefined) this.dropConnection('unsupported');
      else if (this.pending.length >= MAX_PENDING_FLOWS) this.dropConnection('backlog');
      else this.pending.push(flow);
    }
    void this.learnPending();
  }

  private dropConnection(reason: ConnectionDropReason, count = 1): void {
    if (count === 0) return;
    bump(this.droppedConnections, reason, count);
    this.limited.info(
      `connection:${reason}`,
      { reason },
      `connection sync: dropped a received connection (${reason})`,
    );
  }

  private async switchTo(role: SyncRole): Promise<void> {
    if (role === this.role) return;
    this.stopCurrent();
    const { deps, settings } = this;
    const onError = (err: Error) => {
      this.counts.sendErrors++;
      this.limited.warn('socket', { err: err.message }, `connection sync: ${err.message}`);
    };
    if (role === 'master') {
      this.sender = await deps.openSender(settings, onError);
    } else {
      this.receiver = await deps.openReceiver(settings, (d) => this.receive(d), onError);
    }
    this.role = role;
    deps.logger.info(
      { role, interface: settings.interface, group: settings.group, port: settings.port },
      role === 'master'
        ? 'connection sync: sending (VRRP master)'
        : 'connection sync: receiving (VRRP backup)',
    );
    this.schedule();
  }

  private stopCurrent(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.sender?.close();
    this.sender = undefined;
    this.receiver?.close();
    this.receiver = undefined;
    this.pending = [];
  }

  private schedule(): void {
    this.timer = this.deps.clock.setTimer(SEND_INTERVAL_MS, () => {
      this.timer = undefined;
      this.tick();
      if (this.role !== 'stopped') this.schedule();
    });
  }

  /** One interval: the master sends what its data plane reported; a backup discards its own reports. */
  private tick(): void {
    const { port } = this.deps;
    const perMessage = Math.max(1, Math.floor((this.settings.maxLength - 8) / V4_ENTRY_BYTES));
    const flows = port.takeReports(perMessage * MAX_MESSAGES_PER_INTERVAL);
    if (this.role !== 'master' || this.sender === undefined || flows.length === 0) return;
    const messages = encodeSyncMessages(
      this.settings.syncId,
      flows.map(toSyncConnection),
      this.settings.maxLength,
    );
    for (const message of messages) this.sender.send(message);
    this.counts.sentMessages += messages.length;
    this.counts.sentConnections += flows.length;
  }

  private async learnPending(): Promise<void> {
    if (this.learning) return;
    this.learning = true;
    try {
      while (this.pending.length > 0) {
        const chunk = this.pending.splice(0, LEARN_CHUNK);
        const result = await this.deps.port.learn(chunk);
        this.learnt.stored += result.stored;
        this.learnt.filled += result.filled;
        this.learnt.evicted += result.evicted;
        this.dropConnection('noService', result.noService);
        this.dropConnection('noReal', result.noReal);
        this.dropConnection('invalid', result.invalid);
      }
    } catch (err) {
      this.limited.warn(
        'learn',
        { err: err instanceof Error ? err.message : String(err) },
        'connection sync: storing received connections failed',
      );
    } finally {
      this.learning = false;
    }
  }
}

function bump<K extends string>(counts: Partial<Record<K, number>>, key: K, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
