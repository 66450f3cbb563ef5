/**
 * status_connections: lists a full 1 M-entry connection table the way
 * `lbctl status --connections` does (batch reads off the event loop, live
 * entries decoded chunk by chunk and encoded as the socket lines the daemon
 * sends; then the client's ipvsadm -Lnc formatting), and reports the longest
 * the daemon's event loop was held meanwhile. Target: both under 2 s.
 * Then the other connection table the daemon reads in one go: kernel IPVS's,
 * at a graceful stop (ipvs-handoff-listing.ts).
 */
import * as abi from '../src/dataplane/abi.js';
import {
  type Connection,
  connectionTuple,
  listConnections,
  readRealIdentities,
  readServiceKeys,
} from '../src/dataplane/conn-listing.js';
import type { Protocol } from '../src/dataplane/dataplane.js';
import { kernelHz } from '../src/dataplane/kernel-hz.js';
import { programNowNs } from '../src/dataplane/program-clock.js';
import { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import { connectionLine } from '../src/status/ipvsadm-format.js';
import { connTableMaps } from '../src/status/status-collector.js';
import { watchMajorGcs } from './gc-watch.js';
import { ipvsHandoffListing } from './ipvs-handoff-listing.js';
import { watchLoop } from './loop-watch.js';
import type { BenchResult } from './result.js';

/** LBCTL_BENCH_STATUS_ENTRIES (a power of two) lists a smaller table, e.g. to see how time scales. */
const ENTRIES = Number(process.env.LBCTL_BENCH_STATUS_ENTRIES ?? 1 << 20);
type Row = [Protocol, number, string, string, string, string];
const REALS = 32;

export async function statusConnections(): Promise<BenchResult[]> {
  return [await xdpListing(), await ipvsHandoffListing()];
}

async function xdpListing(): Promise<BenchResult> {
  const plane = await XdpDataPlane.open({
    instance: `bench-status-${process.pid}`,
    pin: false,
    connections: ENTRIES,
  });
  try {
    const vip = '10.200.0.100';
    await plane.setService(
      { vip, port: 80, protocol: 'tcp', scheduler: 'rr' },
      Array.from({ length: REALS }, (_, i) => ({
        address: `10.200.1.${i + 1}`,
        port: 80,
        weight: 1,
        forwarding: 'dr' as const,
        via: { interface: 'lo', mac: '02:00:00:00:00:01' },
      })),
    );
    const maps = connTableMaps(plane);
    const realIds = [...(await readRealIdentities(maps.reals)).keys()];
    const serviceId = [...(await readServiceKeys(maps.services)).keys()][0]!;
    const nowNs = await programNowNs(kernelHz());
    const fillStarted = performance.now();
    fillTable(maps.conns, nowNs, realIds, serviceId);
    const fillMs = performance.now() - fillStarted;

    const stopGcWatch = watchMajorGcs();
    const stopWatch = watchLoop();
    // The daemon's side: live entries decoded and each chunk encoded as the socket line it sends.
    const encode = (rows: Connection[]) =>
      JSON.stringify({
        id: 1,
        ok: true,
        more: true,
        result: rows.map(connectionTuple),
      });
    const started = performance.now();
    let sent = 0;
    const listed = await listConnections(maps, {
      nowNs,
      onChunk: (rows) => {
        sent += encode(rows).length;
      },
    });
    const listMs = performance.now() - started;
    const loop = await stopWatch();
    const majorGcs = stopGcWatch();
    // The client's side (another process): ipvsadm -Lnc lines from those lines, timed per chunk.
    let formatMs = 0;
    let bytes = 0;
    await listConnections(maps, {
      nowNs,
      onChunk: (chunk) => {
        const line = encode(chunk);
        const at = performance.now();
        const rows = (JSON.parse(line) as { result: Row[] }).result;
        let text = '';
        for (const [protocol, expiresS, state, source, virtual, destination] of rows) {
          text += connectionLine({ protocol, expiresS, state, source, virtual, destination });
        }
        bytes += text.length;
        formatMs += performance.now() - at;
      },
    });
    return {
      name: 'status_connections',
      entries: listed,
      listMs,
      formatMs,
      targetMs: 2000,
      ratioToTarget: (listMs + formatMs) / 2000,
      outputMiB: bytes / 1024 / 1024,
      socketMiB: sent / 1024 / 1024,
      // The longest the daemon's loop ran without a timer turn (main-thread CPU time), and the wall-clock gap.
      maxRunBetweenTicksMs: loop.maxRun,
      maxTimerGapMs: loop.maxGap,
      maxLoopDelayMs: loop.maxDelay,
      // Full collections while the daemon's side listed (none in 5 runs: filling the table leaves little).
      majorGcs: majorGcs.count,
      majorGcPauseMs: majorGcs.pauseMs,
      fillMs,
    };
  } finally {
    await plane.destroy();
  }
}

/** Every way of every set holds a live TCP flow to one of the reals. */
function fillTable(
  conns: ReturnType<typeof connTableMaps>['conns'],
  nowNs: number,
  realIds: number[],
  serviceId: number,
): void {
  const value = Buffer.alloc(abi.connSet.size);
  const key = Buffer.alloc(4);
  const hi = Math.floor(nowNs / 4294967296);
  const lo = nowNs - hi * 4294967296;
  for (let set = 0; set < conns.info.maxEntries; set++) {
    for (let way = 0; way < abi.CONN_WAYS; way++) {
      const at = way * abi.connSlot.size;
      const k = at + abi.connSlot.offsetOf('key');
      const c = at + abi.connSlot.offsetOf('conn');
      const n = set * abi.CONN_WAYS + way;
      value.set([10, 201, (n >> 16) & 0xff, (n >> 8) & 0xff], k + abi.flowKey.offsetOf('src'));
      value.set([10, 200, 0, 100], k + abi.flowKey.offsetOf('dst'));
      value.writeUInt16BE(1024 + (n & 0x7fff), k + abi.flowKey.offsetOf('sport'));
      value.writeUInt16BE(80, k + abi.flowKey.offsetOf('dport'));
      value[k + abi.flowKey.offsetOf('proto')] = abi.PROTO.tcp;
      value[k + abi.flowKey.offsetOf('family')] = abi.FAMILY.ipv4;
      value.writeUInt32LE(lo, c + abi.conn.offsetOf('last_seen_ns'));
      value.writeUInt32LE(hi, c + abi.conn.offsetOf('last_seen_ns') + 4);
      value.writeUInt32LE(realIds[n % realIds.length]!, c + abi.conn.offsetOf('real_id'));
      value.writeUInt32LE(serviceId, c + abi.conn.offsetOf('service_id'));
      value.writeUInt32LE(abi.CONN_F_ESTABLISHED, c + abi.conn.offsetOf('flags'));
    }
    key.writeUInt32LE(set);
    conns.update(key, value);
  }
}
