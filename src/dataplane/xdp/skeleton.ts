/**
 * The lb program as typed TypeScript, like a libbpf skeleton: its rodata
 * knobs and maps by name, each checked against the compiled object (rodata
 * widths from its BTF datasec before load, map key/value sizes from the
 * loaded maps) so a header change that user space missed fails at open with
 * the name of what moved, not with corrupt map writes.
 */
import { join } from 'node:path';
import { type BpfMap, BpfObject, type BpfProgram, bpfObjectPath } from '../../bpf/index.js';
import { LbctlError } from '../../errors.js';
import * as abi from '../abi.js';
import { checkPinnedLayout } from './pinned-layout.js';
import { explainLoadFailure } from './verifier-error.js';

/** The `const volatile` globals of bpf/lb.bpf.c, with their C widths in bytes. */
const RODATA = {
  malformedVerdict: { name: 'lb_malformed_verdict', size: 4 },
  fragmentVerdict: { name: 'lb_fragment_verdict', size: 4 },
  /** IPVS's sloppy_tcp: 1 lets any TCP segment without RST open a flow, not only a SYN. */
  sloppyTcp: { name: 'lb_sloppy_tcp', size: 4 },
  /** 32 - log2(sets in lb_conns): a flow's sets are the top bits of its hashes. */
  connSetShift: { name: 'lb_conn_set_shift', size: 4 },
  /** 32 - log2(sets in lb_services). */
  serviceSetShift: { name: 'lb_svc_set_shift', size: 4 },
  /** 0: the program reads bpf_ktime_get_coarse_ns() instead of jiffies. */
  nsPerJiffy: { name: 'lb_ns_per_jiffy', size: 8 },
  /** 1: new flows and their state changes are reported in lb_sync_events (connection sync). */
  syncEnabled: { name: 'lb_sync_enabled', size: 4 },
} as const;

export type LbRodata = { readonly [K in keyof typeof RODATA]: number };

export type LbMapName = keyof typeof abi.MAPS;
export type LbMaps = Readonly<Record<LbMapName, BpfMap>>;

const U32 = 4;

/** Each map's key and value size, from the codecs in abi.ts. */
const MAP_LAYOUT: Readonly<Record<LbMapName, { key: number; value: number }>> = {
  services: { key: U32, value: abi.serviceSet.size },
  reals: { key: U32, value: abi.real.size },
  rings: { key: U32, value: abi.RING_BYTES },
  rrPos: { key: U32, value: U32 },
  conns: { key: U32, value: abi.connSet.size },
  persist: { key: abi.persistKey.size, value: abi.persist.size },
  nat: { key: abi.flowKey.size, value: abi.natOrigin.size },
  txPorts: { key: U32, value: U32 },
  config: { key: U32, value: abi.config.size },
  stats: { key: U32, value: abi.counters.size },
  serviceStats: { key: U32, value: abi.counters.size },
  realStats: { key: U32, value: abi.realCounters.size },
};

/** The program's entry point (SEC("xdp")). */
const PROGRAM = 'lb_xdp';
/** Connection sync's insert path, run through BPF_PROG_TEST_RUN (never attached). */
const SYNC_LEARN_PROGRAM = 'lb_sync_learn';
/** The ring buffer of connection-sync events (not in abi.MAPS: never pinned). */
const SYNC_EVENTS_MAP = 'lb_sync_events';
/** lb_sync_events when sync is off: the smallest ring the kernel accepts. */
const SYNC_EVENTS_OFF_BYTES = 4096;

export interface LbSkeletonOptions {
  readonly objectPath?: string;
  readonly rodata: LbRodata;
  /** max_entries of each sized map (the others keep the object's). */
  readonly maxEntries: Readonly<Partial<Record<LbMapName, number>>>;
  /** Pin (and reuse) every map but lb_tx_ports under this directory. */
  readonly pinDir?: string;
  /** Bytes of lb_sync_events when connection sync is on (a power of two, at least a page). */
  readonly syncEventsBytes?: number;
}

export interface LbSkeleton {
  readonly program: BpfProgram;
  readonly maps: LbMaps;
  /** lb_sync_learn: stores flows learnt by connection sync (loaded only with sync on). */
  readonly syncLearn: BpfProgram | undefined;
  /** lb_sync_events: the ring of flows to report to peers. */
  readonly syncEvents: BpfMap;
}

const mismatch = (what: string): never => {
  throw new LbctlError(
    'DATAPLANE_ABI_MISMATCH',
    `Cannot load the XDP data plane: ${what}; rebuild (npm run build) so the program and lbctl agree`,
  );
};

/** Opens, configures and loads the lb object; the object itself is closed before returning. */
export async function loadLbSkeleton(options: LbSkeletonOptions): Promise<LbSkeleton> {
  const obj = BpfObject.open(options.objectPath ?? bpfObjectPath('lb'));
  try {
    const variables = obj.rodataVariables();
    for (const [key, { name, size }] of Object.entries(RODATA)) {
      const variable = variables.find((v) => v.name === name);
      if (variable === undefined) mismatch(`the program has no rodata variable ${name}`);
      else if (variable.size !== size) {
        mismatch(`rodata variable ${name} is ${variable.size} bytes, lbctl writes ${size}`);
      }
      const value = options.rodata[key as keyof LbRodata];
      obj.setRodata(name, size === 8 ? BigInt(value) : value);
    }
    for (const [key, entries] of Object.entries(options.maxEntries)) {
      obj.setMaxEntries(abi.MAPS[key as LbMapName], entries);
    }
    obj.setMaxEntries(
      SYNC_EVENTS_MAP,
      options.rodata.syncEnabled ? (options.syncEventsBytes ?? 1 << 20) : SYNC_EVENTS_OFF_BYTES,
    );
    // Without sync nothing runs it, and its verification costs more than lb_xdp's.
    if (!options.rodata.syncEnabled) obj.setAutoload(SYNC_LEARN_PROGRAM, false);
    if (options.pinDir !== undefined) {
      checkPinnedLayout(
        options.pinDir,
        Object.fromEntries(
          (Object.entries(abi.MAPS) as [LbMapName, string][]).map(([key, name]) => {
            const entries = options.maxEntries[key];
            return [
              name,
              { ...MAP_LAYOUT[key], ...(entries !== undefined ? { maxEntries: entries } : {}) },
            ];
          }),
        ),
      );
      for (const name of Object.values(abi.MAPS)) {
        // libbpf cannot reuse a pinned devmap (the kernel adds BPF_F_RDONLY_PROG to its
        // flags); it holds only ifindexes, so each load rebuilds it from lb_reals.
        if (name !== abi.MAPS.txPorts) obj.setPinPath(name, join(options.pinDir, name));
      }
    }
    await obj.load().catch((err: unknown) => {
      throw explainLoadFailure(err, 'the XDP data plane');
    });
    const program = obj.program(PROGRAM);
    const syncLearn = options.rodata.syncEnabled ? obj.program(SYNC_LEARN_PROGRAM) : undefined;
    const syncEvents = obj.map(SYNC_EVENTS_MAP);
    const maps: Partial<Record<LbMapName, BpfMap>> = {};
    try {
      for (const [key, name] of Object.entries(abi.MAPS) as [LbMapName, string][]) {
        const map = obj.map(name);
        maps[key] = map;
        const want = MAP_LAYOUT[key];
        const { keySize, valueSize } = map.info;
        if (keySize !== want.key || valueSize !== want.value) {
          mismatch(
            `map ${name} has ${keySize}-byte keys and ${valueSize}-byte values, ` +
              `lbctl expects ${want.key} and ${want.value}`,
          );
        }
      }
    } catch (err) {
      for (const map of Object.values(maps)) map.close();
      program.close();
      syncLearn?.close();
      syncEvents.close();
      throw err;
    }
    return { program, maps: maps as LbMaps, syncLearn, syncEvents };
  } finally {
    obj.close();
  }
}
