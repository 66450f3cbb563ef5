import { Counter, Gauge, type Registry } from 'prom-client';
import type { DataPlane } from '../dataplane/dataplane.js';
import { REAL_LABELS, realLabels, SERVICE_LABELS, serviceLabels } from './labels.js';

type Counters = Awaited<ReturnType<DataPlane['counters']>>;
type TrafficField = 'packets' | 'bytes' | 'newConnections';

/** Data-plane counters, read once per scrape and shared by every metric of that scrape. */
export function registerDataPlaneCollectors(
  registers: Registry[],
  dataPlane: () => DataPlane | undefined,
): void {
  let pending: Promise<Counters> | undefined;
  const counters = (): Promise<Counters | undefined> => {
    const plane = dataPlane();
    if (plane === undefined) return Promise.resolve(undefined);
    pending ??= plane.counters().finally(() => {
      setImmediate(() => {
        pending = undefined;
      });
    });
    return pending;
  };

  const global = (name: string, help: string, field: 'packets' | 'bytes') =>
    new Counter({
      name,
      help,
      labelNames: ['reason'],
      registers,
      async collect() {
        this.reset();
        const c = await counters();
        for (const [reason, value] of Object.entries(c?.global ?? {}))
          this.inc({ reason }, value[field]);
      },
    });
  global('lbctl_dataplane_packets_total', 'Packets seen by the XDP program, by outcome', 'packets');
  global('lbctl_dataplane_bytes_total', 'Bytes seen by the XDP program, by outcome', 'bytes');

  const connTable = (name: string, help: string, field: 'capacity' | 'used') =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.reset();
        const table = (await counters())?.connTable;
        if (table !== undefined) this.set(table[field]);
      },
    });
  connTable(
    'lbctl_connection_table_capacity_entries',
    'Entries the data plane connection table holds',
    'capacity',
  );
  connTable(
    'lbctl_connection_table_used_entries',
    'Connection-table entries a flow has taken at least once (entries are reused, never emptied)',
    'used',
  );
  new Counter({
    name: 'lbctl_connection_table_evictions_total',
    help: "New flows that replaced another flow's connection-table entry before its timeout",
    registers,
    async collect() {
      this.reset();
      const table = (await counters())?.connTable;
      if (table !== undefined) this.inc(table.evicted);
    },
  });

  const perService = (name: string, help: string, field: TrafficField) =>
    new Counter({
      name,
      help,
      labelNames: [...SERVICE_LABELS],
      registers,
      async collect() {
        this.reset();
        const c = await counters();
        for (const s of c?.services ?? []) this.inc(serviceLabels(s.service), s[field]);
      },
    });
  perService(
    'lbctl_virtual_server_packets_total',
    'Packets forwarded for a virtual service',
    'packets',
  );
  perService('lbctl_virtual_server_bytes_total', 'Bytes forwarded for a virtual service', 'bytes');
  perService(
    'lbctl_virtual_server_connections_total',
    'New connections scheduled for a virtual service',
    'newConnections',
  );

  const perReal = (name: string, help: string, field: TrafficField) =>
    new Counter({
      name,
      help,
      labelNames: [...REAL_LABELS],
      registers,
      async collect() {
        this.reset();
        const c = await counters();
        for (const s of c?.services ?? []) {
          for (const r of s.reals) this.inc(realLabels(s.service, r.address, r.port), r[field]);
        }
      },
    });
  perReal('lbctl_real_server_packets_total', 'Packets forwarded to a real server', 'packets');
  perReal('lbctl_real_server_bytes_total', 'Bytes forwarded to a real server', 'bytes');
  perReal(
    'lbctl_real_server_connections_total',
    'New connections sent to a real server',
    'newConnections',
  );
}
