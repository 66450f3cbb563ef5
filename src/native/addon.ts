import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ErrorCode } from '../error-codes.js';
import { buildDir } from '../paths.js';
import { NativeError, type NativeErrorCode } from './native-error.js';

/**
 * The addon's raw surface; only src/bpf, src/net, src/netns, src/netlink,
 * src/daemon/signals.ts and the Maglev fill (src/dataplane/maglev.ts) use it.
 */
export interface NativeRodataVariable {
  name: string;
  offset: number;
  size: number;
}

export interface NativeBtfMember {
  name: string;
  offsetBits: number;
  bitfieldSize: number;
  size: number;
}

export interface NativeBpfObject {
  rodataVariables(): NativeRodataVariable[];
  setRodata(offset: number, bytes: Buffer): void;
  setMaxEntries(map: string, entries: number): void;
  reusePinnedMap(map: string, path: string): void;
  setPinPath(map: string, path: string): void;
  setAutoload(program: string, autoload: boolean): void;
  load(): Promise<void>;
  programNames(): string[];
  mapNames(): string[];
  btfStruct(name: string): { size: number; members: NativeBtfMember[] } | undefined;
  programFd(name: string): number;
  mapFd(name: string): number;
  close(): void;
  isLoaded(): boolean;
}

export interface NativeMapInfo {
  name: string;
  type: number;
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  id: number;
  perCpu: boolean;
}

/**
 * One part of a value written off the event loop: bytes as they are, or a
 * lookup — one host-endian u32 per index, `values[indices[i]]`, where indices
 * are `indexBytes` wide and values are u32s (a Maglev table's backend indices
 * turned into real ids on the thread pool).
 */
export type ValuePart =
  | Buffer
  | { readonly indices: Buffer; readonly indexBytes: 1 | 2 | 4; readonly values: Buffer };

export interface NativeBpfMap {
  info(): NativeMapInfo;
  lookup(key: Buffer): Buffer | undefined;
  update(key: Buffer, value: Buffer, flags: number): void;
  updateBatch(keys: Buffer, values: Buffer, flags: number): void;
  updateOffLoop(key: Buffer, parts: readonly ValuePart[], flags: number): Promise<void>;
  delete(key: Buffer): boolean;
  nextKey(key: Buffer | null): Buffer | undefined;
  readArray(first: number, count: number): Promise<Buffer>;
  readPerCpuSums(first: number, count: number): Promise<Float64Array>;
  pin(path: string): void;
  /** A new descriptor of the same map, owned by the caller. */
  dup(): number;
  close(): void;
}

export interface NativeProgramInfo {
  name: string;
  type: number;
  typeName: string;
  id: number;
  /** Instructions after the verifier's rewrites (bpftool's "xlated" / 8). */
  insns: number;
  /** Size of the JIT-compiled image (0 without JIT). */
  jitedBytes: number;
  /** Instructions the verifier processed to accept it (0 before Linux 5.16). */
  verifiedInsns: number;
}

export interface NativeBpfProgram {
  info(): NativeProgramInfo;
  attachXdp(ifname: string, mode: 'native' | 'generic'): number;
  testRun(
    data: Buffer,
    repeat: number,
    dataOutSize?: number,
  ): Promise<{ verdict: number; data: Buffer; durationNs: number }>;
  sendLiveFrames(
    data: Buffer,
    ifindex: number,
    repeat: number,
    batchSize: number,
    netnsFd?: number,
  ): Promise<{ durationNs: number }>;
  pin(path: string): void;
  /** A new descriptor of the same program, owned by the caller. */
  dup(): number;
  close(): void;
}

export interface NativeLinkInfo {
  id: number;
  type: number;
  typeName: string;
  programId: number;
  ifindex?: number;
  ifname?: string;
}

export interface NativeBpfLink {
  info(): NativeLinkInfo;
  pin(path: string): void;
  update(program: NativeBpfProgram): void;
  detach(): void;
  close(): void;
}

export interface NativeBpfRingBuffer {
  /** Records written since the last drain, each as [u32 LE length][bytes], about maxBytes at most. */
  drain(maxBytes: number): Buffer;
  close(): void;
}

export interface NativeRawMessageInfo {
  source: string;
  destination?: string;
  /** TTL (IPv4) or hop limit (IPv6) the datagram arrived with; -1 if unknown. */
  ttl: number;
  /** IPv4 TOS / IPv6 traffic class it arrived with. */
  tos?: number;
  ifindex: number;
}

export interface NativeRawIpSocket {
  setTtl(ttl: number): void;
  setTos(tos: number): void;
  joinMulticast(group: string, ifname: string): void;
  leaveMulticast(group: string, ifname: string): void;
  setMulticastInterface(ifname: string): void;
  setMulticastLoop(on: boolean): void;
  setChecksumOffset(offset: number): void;
  send(payload: Buffer, destination: string): number;
  start(onMessage: (payload: Buffer, info: NativeRawMessageInfo) => void): void;
  stop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativeTcpProber {
  /** -1 while the connect is in progress (onSettled reports it), else its errno now (0: up). */
  connect(
    id: number,
    family: 4 | 6,
    address: string,
    port: number,
    bindAddress?: string,
    bindPort?: number,
  ): number;
  /**
   * An HTTP/1.0 exchange: connect, send `request`, read the head, then the
   * body to its end (not kept) when the status is within `accepted` (from,
   * to pairs). -1 while in progress, else the connect's errno now.
   */
  exchange(
    id: number,
    family: 4 | 6,
    address: string,
    port: number,
    bindAddress: string | undefined,
    bindPort: number | undefined,
    request: Buffer,
    accepted: Int32Array,
  ): number;
  /** false when the probe had already settled. */
  cancel(id: number): boolean;
  pending(): number;
  close(): void;
}

export type TcpProbeSettled = (
  ids: Uint32Array,
  errnos: Int32Array,
  outcomes: Int32Array,
  statuses: Int32Array,
  details: readonly (string | undefined)[] | undefined,
) => void;

export interface NativePacketSocket {
  send(frame: Buffer): number;
  close(): void;
}

export interface NativeNetlinkSocket {
  portId(): number;
  addMembership(group: number): void;
  send(message: Buffer): number;
  start(onMessage: (datagram: Buffer | null, errno?: number) => void): void;
  stop(): void;
  close(): void;
}

export interface NativeAddon {
  RawIpSocket: new (options: {
    family: 4 | 6;
    protocol: number;
    interface?: string;
    bindAddress?: string;
  }) => NativeRawIpSocket;
  PacketSocket: new (ifname: string) => NativePacketSocket;
  TcpProber: new (onSettled: TcpProbeSettled) => NativeTcpProber;
  NetlinkSocket: new (protocol: number, groups?: number) => NativeNetlinkSocket;
  BpfObject: new (path: string, pinRoot?: string) => NativeBpfObject;
  BpfMap: new (fd: number) => NativeBpfMap;
  BpfProgram: new (fd: number) => NativeBpfProgram;
  BpfLink: new (fd: number) => NativeBpfLink;
  BpfRingBuffer: new (map: NativeBpfMap) => NativeBpfRingBuffer;
  libbpfVersion(): string;
  /**
   * Fills a Maglev table on the libuv thread pool (see src/dataplane/maglev.ts);
   * `oneAtATime` forces the portable walk instead of AVX2's (same table).
   */
  maglevFill(
    offsets: Int32Array,
    skips: Int32Array,
    weights: Float64Array,
    size: number,
    indexBytes: 1 | 2 | 4,
    oneAtATime?: boolean,
  ): Promise<Buffer>;
  /** Frees a maglevFill placement's memory now; the Buffer becomes empty. */
  maglevFree(placement: Buffer): void;
  possibleCpus(): number;
  /** CPU time of the calling thread, in nanoseconds (CLOCK_THREAD_CPUTIME_ID). */
  threadCpuNs(): number;
  objGet(path: string): number;
  ifIndex(name: string): number;
  setNetworkNamespace(fd: number): void;
  /** A new BPF array map with u32 keys; returns its descriptor. */
  createArrayMap(name: string, valueSize: number, maxEntries: number): number;
  /**
   * The calling thread runs SCHED_RR at `priority` (1..99), or SCHED_OTHER
   * when 0, and RLIMIT_RTTIME becomes soft/hard µs (Infinity: none), the
   * thread's realtime count starting from zero. Threads and processes it
   * starts later begin with normal scheduling.
   */
  setEventLoopRealtime(priority: number, soft: number, hard: number): void;
  /** RLIMIT_RTTIME in µs (Infinity: no limit). */
  realtimeTimeLimit(): { soft: number; hard: number };
  /** From now on SIGXCPU drops the realtime thread to SCHED_OTHER (counted). */
  installRealtimeGuard(): void;
  /** How many times SIGXCPU has dropped the realtime thread. */
  realtimeDemotions(): number;
  /** The calling thread runs only on these CPUs. */
  setThreadCpuAffinity(cpus: readonly number[]): void;
  threadCpuAffinity(): number[];
  /** mlockall(MCL_CURRENT | MCL_FUTURE), or munlockall when false. */
  lockMemory(on: boolean): void;
  /** The calling thread's name (prctl PR_SET_NAME, 1..15 bytes), as ps -L and top -H show it. */
  setThreadName(name: string): void;
  /** flock(fd, LOCK_EX | LOCK_NB): false when another holder has it. */
  tryLockExclusive(fd: number): boolean;
  sendUnixDatagram(path: string, payload: Buffer): number;
  ignoreSignal(signo: number): void;
  realtimeSignalRange(): { min: number; max: number };
  setErrorFactory(
    factory: (
      message: string,
      code: string,
      errno: number,
      operation: string,
      extra: { verifierLog?: string; libbpfLog?: string },
    ) => Error,
  ): void;
}

let cached: NativeAddon | undefined;

/** Builds the error for one code, or undefined when the code is not this binding's. */
export type NativeErrorFactory = (
  message: string,
  code: string,
  errno: number,
  operation: string,
  extra: { verifierLog?: string; libbpfLog?: string },
) => NativeError<ErrorCode> | undefined;

const errorFactories: NativeErrorFactory[] = [];

/**
 * Lets a binding built on the addon (src/bpf) raise its own NativeError subclass
 * for its codes, so this loader never depends on it.
 */
export function registerNativeErrorFactory(factory: NativeErrorFactory): void {
  if (!errorFactories.includes(factory)) errorFactories.push(factory);
}

/** Loads the addon once; its errors become NativeError instances (or a registered subclass). */
export function native(): NativeAddon {
  if (cached !== undefined) return cached;
  const path = join(buildDir, 'lbctl_native.node');
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new NativeError(
      `Cannot load the native addon ${path}: ${(err as Error).message} (run npm run build)`,
      'ADDON_NOT_BUILT',
      0,
      'require',
    );
  }
  addon.setErrorFactory((message, code, errno, operation, extra) => {
    for (const factory of errorFactories) {
      const err = factory(message, code, errno, operation, extra);
      if (err !== undefined) return err;
    }
    return new NativeError(message, code as NativeErrorCode, errno, operation);
  });
  cached = addon;
  return addon;
}
