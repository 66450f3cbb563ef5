import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionSyncCounters } from '../sync/connection-sync.js';
import { snapshotCounter } from './snapshot-counter.js';

/** Connection sync (lvs_sync_daemon): role, traffic, what was stored and what was dropped. */
export function registerSyncCollectors(
  registers: Registry[],
  counters: () => ConnectionSyncCounters | undefined,
): void {
  new Gauge({
    name: 'lbctl_sync_role',
    help: 'Connection sync role: 1 on the current one (master sends, backup receives)',
    labelNames: ['role'],
    registers,
    collect() {
      this.reset();
      const c = counters();
      if (c === undefined) return;
      for (const role of ['master', 'backup'] as const) this.set({ role }, c.role === role ? 1 : 0);
    },
  });
  const simple = (name: string, help: string, pick: (c: ConnectionSyncCounters) => number) =>
    snapshotCounter(registers, counters, name, help, pick);
  simple('lbctl_sync_sent_messages_total', 'IPVS sync messages sent', (c) => c.sentMessages);
  simple(
    'lbctl_sync_sent_connections_total',
    'Connections sent in IPVS sync messages',
    (c) => c.sentConnections,
  );
  simple(
    'lbctl_sync_received_messages_total',
    'IPVS sync messages received and decoded',
    (c) => c.receivedMessages,
  );
  simple(
    'lbctl_sync_received_connections_total',
    'Connections received in IPVS sync messages',
    (c) => c.receivedConnections,
  );
  simple('lbctl_sync_send_errors_total', 'Sync socket errors', (c) => c.sendErrors);
  new Counter({
    name: 'lbctl_sync_stored_connections_total',
    help: 'Received connections stored in the connection table, by what storing did',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      const c = counters();
      if (c === undefined) return;
      for (const [result, n] of Object.entries(c.learnt)) this.inc({ result }, n);
    },
  });
  new Counter({
    name: 'lbctl_sync_dropped_total',
    help: 'Sync messages and received connections dropped, by what was dropped and why',
    labelNames: ['what', 'reason'],
    registers,
    collect() {
      this.reset();
      const c = counters();
      if (c === undefined) return;
      for (const [reason, n] of Object.entries(c.droppedMessages))
        this.inc({ what: 'message', reason }, n ?? 0);
      for (const [reason, n] of Object.entries(c.droppedConnections))
        this.inc({ what: 'connection', reason }, n ?? 0);
    },
  });
}
