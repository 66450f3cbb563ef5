import { Counter, Gauge, type Registry } from 'prom-client';
import { countConnectionsByEndpoint } from '../dataplane/conn-listing.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import { kernelHz } from '../dataplane/kernel-hz.js';
import { programNowNs } from '../dataplane/program-clock.js';
import { XdpDataPlane } from '../dataplane/xdp/xdp-dataplane.js';
import { connTableMaps } from '../status/status-collector.js';
import { REAL_LABELS, realLabels, SERVICE_LABELS, serviceLabels } from './labels.js';

type Counters = Awaited<ReturnType<DataPlane['counters']>>;
type ConnectionCounts = Awaited<ReturnType<typeof countConnectionsByEndpoint>>;

/** Shares one read among the metrics of one scrape: concurrent callers get the same promise. */
function oncePerScrape<T>(read: () => Promise<T> | undefined): () => Promise<T | undefined> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending !== undefined) return pending;
    const started = read();
    if (started === undefined) return Promise.resolve(undefined);
    pending = started.finally(() => {
      setImmediate(() => {
        pending = undefined;
      });
    });
    return pending;
  };
}
type TrafficField = 'packets' | 'bytes' | 'newConnections';

/** Data-plane counters, read once per scrape and shared by every metric of that scrape. */
export function registerDataPlaneCollectors(
  registers: Registry[],
  dataPlane: () => DataPlane | undefined,
): void {
  const counters = oncePerScrape<Counters>(() => dataPlane()?.counters());
  // Live connections come from the XDP connection table, read in chunks off the event loop.
  const connections = oncePerScrape<ConnectionCounts>(() => {
    const plane = dataPlane();
    if (!(plane instanceof XdpDataPlane)) return undefined;
    return programNowNs(kernelHz()).then((nowNs) =>
      countConnectionsByEndpoint(connTableMaps(plane), nowNs),
    );
  });

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
  new Gauge({
    name: 'lbctl_connection_table_live_entries',
    help: 'Connection-table entries younger than their timeout (live flows)',
    registers,
    async collect() {
      this.reset();
      const counts = await connections();
      if (counts !== undefined) this.set(counts.total);
    },
  });
  const liveByReal = (name: string, help: string, field: 'active' | 'inactive') =>
    new Gauge({
      name,
      help,
      labelNames: [...REAL_LABELS],
      registers,
      async collect() {
        this.reset();
        const counts = await connections();
        if (counts === undefined) return;
        // Every applied real has a series, 0 without live connections, as in IPVS.
        for (const { service, reals } of dataPlane()?.services() ?? []) {
          for (const real of reals) this.set(realLabels(service, real.address, real.port), 0);
        }
        for (const c of counts.reals) this.set(realLabels(c.service, c.address, c.port), c[field]);
      },
    });
  liveByReal(
    'lbctl_real_server_connections_active',
    'Live established TCP connections of a real server (IPVS ActiveConn)',
    'active',
  );
  liveByReal(
    'lbctl_real_server_connections_inactive',
    'Other live connections of a real server: handshake, FIN/RST seen, UDP (IPVS InActConn)',
    'inactive',
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

  new Counter({
    name: 'lbctl_dataplane_hash_forwarded_packets_total',
    help: 'Segments of TCP flows this director never saw open, forwarded untracked to the real the mh hash picks (flows ECMP moved here)',
    registers,
    async collect() {
      this.reset();
      const forwarded = (await counters())?.hashForwarded;
      if (forwarded !== undefined) this.inc(forwarded);
    },
  });

  /** A counter whose series `emit` derives from this scrape's data-plane counters. */
  const fromCounters = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    emit: (c: Counters, inc: (labels: Partial<Record<L, string>>, value: number) => void) => void,
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        const c = await counters();
        if (c !== undefined) emit(c, (labels, value) => this.inc(labels, value));
      },
    });

  const perService = (name: string, help: string, field: TrafficField) =>
    fromCounters(name, help, SERVICE_LABELS, (c, inc) => {
      for (const s of c.services) inc(serviceLabels(s.service), s[field]);
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
    fromCounters(name, help, REAL_LABELS, (c, inc) => {
      for (const s of c.services) {
        for (const r of s.reals) inc(realLabels(s.service, r.address, r.port), r[field]);
      }
    });
  perReal('lbctl_real_server_packets_total', 'Packets forwarded to a real server', 'packets');
  perReal('lbctl_real_server_bytes_total', 'Bytes forwarded to a real server', 'bytes');
  perReal(
    'lbctl_real_server_connections_total',
    'New connections sent to a real server',
    'newConnections',
  );
}
