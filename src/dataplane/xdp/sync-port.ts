/**
 * Connection sync on the XDP data plane. Reports: the program writes a
 * struct lb_sync_conn into the lb_sync_events ring for each new flow and
 * state change; this drains the ring and turns ids back into addresses.
 * Learning: flows from a peer are mapped to this director's service and
 * real ids by address, then stored by lb_sync_learn (run through
 * BPF_PROG_TEST_RUN), which inserts with the fast path's own code.
 */
import { type BpfMap, type BpfProgram, BpfRingBuffer } from '../../bpf/index.js';
import { addressToBytes, bytesToAddress, canonicalAddress } from '../../net/address.js';
import * as abi from '../abi.js';
import {
  type ConnectionSyncPort,
  type LearnCounts,
  noLearnCounts,
  type SyncedFlow,
} from '../connection-sync.js';
import type { Forwarding, Protocol, ServiceSpec } from '../dataplane.js';

/** A service and its reals with the ids the program knows them by. */
export interface SyncIndexEntry {
  readonly id: number;
  readonly spec: ServiceSpec;
  readonly reals: readonly {
    readonly id: number;
    readonly address: string;
    readonly port: number;
    readonly forwarding: Forwarding;
  }[];
}

const RECORD = abi.syncConn.size;
const KEY = {
  src: abi.flowKey.offsetOf('src'),
  dst: abi.flowKey.offsetOf('dst'),
  sport: abi.flowKey.offsetOf('sport'),
  dport: abi.flowKey.offsetOf('dport'),
  proto: abi.flowKey.offsetOf('proto'),
  family: abi.flowKey.offsetOf('family'),
};
const AT = {
  key: abi.syncConn.offsetOf('key'),
  realId: abi.syncConn.offsetOf('real_id'),
  serviceId: abi.syncConn.offsetOf('service_id'),
  flags: abi.syncConn.offsetOf('flags'),
  timeout: abi.syncConn.offsetOf('timeout_s'),
  result: abi.syncConn.offsetOf('result'),
};

interface RealRef {
  readonly serviceId: number;
  readonly realId: number;
}

interface IdView {
  readonly vip: string;
  readonly vport: number;
  readonly protocol: Protocol;
  readonly real: string;
  readonly realPort: number;
  readonly forwarding: Forwarding;
}

export class XdpSyncPort implements ConnectionSyncPort {
  private readonly ring: BpfRingBuffer;

  constructor(
    private readonly learnProgram: BpfProgram,
    events: BpfMap,
    private readonly stats: BpfMap,
    /** The applied services, read at each call (they change with reloads and health). */
    private readonly index: () => readonly SyncIndexEntry[],
  ) {
    this.ring = BpfRingBuffer.open(events);
  }

  takeReports(max: number): SyncedFlow[] {
    const records = this.ring.drain(max * (RECORD + 8));
    if (records.length === 0) return [];
    const byId = this.idViews();
    const flows: SyncedFlow[] = [];
    for (const record of records) {
      if (record.length < RECORD) continue;
      const view = byId.get(
        realKey(record.readUInt32LE(AT.realId), record.readUInt32LE(AT.serviceId)),
      );
      // A real removed since the packet: nothing to tell peers about.
      if (view === undefined) continue;
      const key = record.subarray(AT.key, AT.key + abi.flowKey.size);
      const ipv6 = key[KEY.family] === abi.FAMILY.ipv6;
      const width = ipv6 ? 16 : 4;
      const flags = record.readUInt32LE(AT.flags);
      flows.push({
        protocol: view.protocol,
        family: ipv6 ? 'ipv6' : 'ipv4',
        client: bytesToAddress(key.subarray(KEY.src, KEY.src + width)),
        clientPort: key.readUInt16BE(KEY.sport),
        vip: view.vip,
        vport: key.readUInt16BE(KEY.dport),
        real: view.real,
        realPort: view.realPort === 0 ? key.readUInt16BE(KEY.dport) : view.realPort,
        forwarding: view.forwarding,
        established: (flags & abi.CONN_F_ESTABLISHED) !== 0,
        closing: (flags & abi.CONN_F_FIN) !== 0,
        timeoutS: record.readUInt32LE(AT.timeout),
      });
    }
    return flows;
  }

  async learn(flows: readonly SyncedFlow[]): Promise<LearnCounts> {
    const counts = noLearnCounts();
    const refs = this.realRefs();
    const batch: Buffer[] = [];
    for (const flow of flows) {
      const protocol = abi.PROTO[flow.protocol as abi.XdpProtocol];
      if (protocol === undefined) {
        counts.invalid++;
        continue;
      }
      const service = refs.services.get(serviceKey(flow.protocol, flow.vip, flow.vport));
      // Port-0 (all-ports) services are keyed on port 0.
      const serviceId = service ?? refs.services.get(serviceKey(flow.protocol, flow.vip, 0));
      if (serviceId === undefined) {
        counts.noService++;
        continue;
      }
      const ref =
        refs.reals.get(realLookup(serviceId, flow.real, flow.realPort)) ??
        refs.reals.get(realLookup(serviceId, flow.real, 0));
      if (ref === undefined) {
        counts.noReal++;
        continue;
      }
      batch.push(encodeLearn(flow, protocol, ref));
    }
    for (let i = 0; i < batch.length; i += abi.SYNC_LEARN_BATCH) {
      const frame = Buffer.concat(batch.slice(i, i + abi.SYNC_LEARN_BATCH));
      const run = await this.learnProgram.testRun({ data: frame, dataOutSize: frame.length });
      for (let at = 0; at + RECORD <= run.data.length; at += RECORD) {
        const result = abi.SYNC_RESULTS[run.data.readUInt32LE(at + AT.result)];
        if (result === 'stored' || result === 'filled' || result === 'evicted') counts[result]++;
        else if (result === 'noReal') counts.noReal++;
        else counts.invalid++;
      }
    }
    return counts;
  }

  async lostReports(): Promise<number> {
    let lost = 0;
    const key = Buffer.alloc(4);
    key.writeUInt32LE(abi.STAT_SYNC_LOST);
    const perCpu = this.stats.lookupPerCpu(key) ?? [];
    for (const value of perCpu) lost += Number(value.readBigUInt64LE(0));
    return lost;
  }

  close(): void {
    this.ring.close();
    this.learnProgram.close();
  }

  private idViews(): Map<string, IdView> {
    const out = new Map<string, IdView>();
    for (const s of this.index()) {
      for (const r of s.reals) {
        out.set(realKey(r.id, s.id), {
          vip: canonicalAddress(s.spec.vip),
          vport: s.spec.port,
          protocol: s.spec.protocol,
          real: canonicalAddress(r.address),
          realPort: r.port,
          forwarding: r.forwarding,
        });
      }
    }
    return out;
  }

  private realRefs(): { services: Map<string, number>; reals: Map<string, RealRef> } {
    const services = new Map<string, number>();
    const reals = new Map<string, RealRef>();
    for (const s of this.index()) {
      services.set(serviceKey(s.spec.protocol, s.spec.vip, s.spec.port), s.id);
      for (const r of s.reals) {
        reals.set(realLookup(s.id, r.address, r.port), { serviceId: s.id, realId: r.id });
      }
    }
    return { services, reals };
  }
}

const realKey = (realId: number, serviceId: number) => `${serviceId}|${realId}`;
const serviceKey = (protocol: string, vip: string, port: number) =>
  `${protocol}|${canonicalAddress(vip)}|${port}`;
const realLookup = (serviceId: number, address: string, port: number) =>
  `${serviceId}|${canonicalAddress(address)}|${port}`;

function encodeLearn(flow: SyncedFlow, protocol: number, ref: RealRef): Buffer {
  const out = Buffer.alloc(RECORD);
  const key = out.subarray(AT.key, AT.key + abi.flowKey.size);
  addressToBytes(flow.client).copy(key, KEY.src);
  addressToBytes(flow.vip).copy(key, KEY.dst);
  key.writeUInt16BE(flow.clientPort, KEY.sport);
  key.writeUInt16BE(flow.vport, KEY.dport);
  key[KEY.proto] = protocol;
  key[KEY.family] = flow.family === 'ipv6' ? abi.FAMILY.ipv6 : abi.FAMILY.ipv4;
  out.writeUInt32LE(ref.realId, AT.realId);
  out.writeUInt32LE(ref.serviceId, AT.serviceId);
  let flags = 0;
  if (flow.established) flags |= abi.CONN_F_ESTABLISHED;
  if (flow.closing) flags |= abi.CONN_F_FIN;
  out.writeUInt32LE(flags, AT.flags);
  out.writeUInt32LE(flow.timeoutS >>> 0, AT.timeout);
  return out;
}
