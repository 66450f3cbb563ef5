import type { DataPlaneCounters } from '../dataplane/dataplane.js';
import type { FamilyWriter, MetricFamily } from './metric-family.js';
import type { Scrape } from './scrape.js';

type TrafficField = 'packets' | 'bytes' | 'newConnections';

/** A family whose series come from this scrape's data-plane counters. */
function fromCounters(
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  emit: (c: DataPlaneCounters | undefined, out: FamilyWriter, scrape: Scrape) => Promise<void>,
): MetricFamily<Scrape> {
  return {
    name,
    help,
    type,
    collect: async (scrape, out) => emit(await scrape.counters(), out, scrape),
  };
}

const global = (name: string, help: string, field: 'packets' | 'bytes') =>
  fromCounters(name, help, 'counter', async (c, out) => {
    for (const [reason, value] of Object.entries(c?.global ?? {}))
      out.series(`reason="${reason}"`, value[field]);
  });

/** Unlabelled: 0 without a data plane, as a director without virtual servers reads. */
const connTable = (
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  field: 'capacity' | 'used' | 'evicted',
) =>
  fromCounters(name, help, type, async (c, out) => {
    out.series('', c?.connTable?.[field] ?? 0);
  });

const perService = (name: string, help: string, field: TrafficField) =>
  fromCounters(name, help, 'counter', async (c, out, scrape) => {
    for (const s of c?.services ?? []) {
      out.series(scrape.labels.of(s.service).text, s[field]);
      await out.maybeYield();
    }
  });

const perReal = (name: string, help: string, field: TrafficField) =>
  fromCounters(name, help, 'counter', async (c, out, scrape) => {
    for (const s of c?.services ?? []) {
      const service = scrape.labels.of(s.service);
      for (const r of s.reals) out.series(service.real(r.address, r.port), r[field]);
      await out.maybeYield();
    }
  });

/** Live connections of each applied real: every real has a series, 0 without any, as in IPVS. */
const liveByReal = (
  name: string,
  help: string,
  field: 'active' | 'inactive',
): MetricFamily<Scrape> => ({
  name,
  help,
  type: 'gauge',
  async collect(scrape, out) {
    const counts = await scrape.connections();
    if (counts === undefined) return;
    const live = new Map<string, number>();
    for (const c of counts.reals)
      live.set(scrape.labels.of(c.service).real(c.address, c.port), c[field]);
    for (const { service, reals } of scrape.dataPlane()?.services() ?? []) {
      const texts = scrape.labels.of(service);
      for (const real of reals) {
        const labels = texts.real(real.address, real.port);
        out.series(labels, live.get(labels) ?? 0);
        live.delete(labels);
      }
      await out.maybeYield();
    }
    // Connections of a real no longer applied, until they expire.
    for (const [labels, value] of live) out.series(labels, value);
  },
});

/** Data-plane counters and connection counts, read once per scrape and shared by every family. */
export const dataPlaneFamilies: readonly MetricFamily<Scrape>[] = [
  global('lbctl_dataplane_packets_total', 'Packets seen by the XDP program, by outcome', 'packets'),
  global('lbctl_dataplane_bytes_total', 'Bytes seen by the XDP program, by outcome', 'bytes'),
  connTable(
    'lbctl_connection_table_capacity_entries',
    'Entries the data plane connection table holds',
    'gauge',
    'capacity',
  ),
  connTable(
    'lbctl_connection_table_used_entries',
    'Connection-table entries a flow has taken at least once (entries are reused, never emptied)',
    'gauge',
    'used',
  ),
  {
    name: 'lbctl_connection_table_live_entries',
    help: 'Connection-table entries younger than their timeout (live flows)',
    type: 'gauge',
    async collect(scrape, out) {
      out.series('', (await scrape.connections())?.total ?? 0);
    },
  },
  liveByReal(
    'lbctl_real_server_connections_active',
    'Live established TCP connections of a real server (IPVS ActiveConn)',
    'active',
  ),
  liveByReal(
    'lbctl_real_server_connections_inactive',
    'Other live connections of a real server: handshake, FIN/RST seen, UDP (IPVS InActConn)',
    'inactive',
  ),
  connTable(
    'lbctl_connection_table_evictions_total',
    "New flows that replaced another flow's connection-table entry before its timeout",
    'counter',
    'evicted',
  ),
  fromCounters(
    'lbctl_dataplane_hash_forwarded_packets_total',
    'Segments of TCP flows this director never saw open, forwarded untracked to the real the mh hash picks (flows ECMP moved here)',
    'counter',
    async (c, out) => {
      out.series('', c?.hashForwarded ?? 0);
    },
  ),
  perService(
    'lbctl_virtual_server_packets_total',
    'Packets forwarded for a virtual service',
    'packets',
  ),
  perService('lbctl_virtual_server_bytes_total', 'Bytes forwarded for a virtual service', 'bytes'),
  perService(
    'lbctl_virtual_server_connections_total',
    'New connections scheduled for a virtual service',
    'newConnections',
  ),
  perReal('lbctl_real_server_packets_total', 'Packets forwarded to a real server', 'packets'),
  perReal('lbctl_real_server_bytes_total', 'Bytes forwarded to a real server', 'bytes'),
  perReal(
    'lbctl_real_server_connections_total',
    'New connections sent to a real server',
    'newConnections',
  ),
];
