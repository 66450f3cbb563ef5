import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfLink } from '../bpf/link.js';
import { BpfMap } from '../bpf/map.js';
import { BpfObject } from '../bpf/object.js';
import { bpfObjectPath } from '../bpf/paths.js';
import type { XdpAttachMode } from '../bpf/program.js';
import { type CounterClass, counterClasses, counterKey, counterValue } from './abi.js';

/**
 * The counter program (bpf/counter.bpf.c) as a small, complete example of
 * the binding: load, attach as a pinned link, read per-CPU counters from a
 * pinned map in any process, detach.
 */
export const counterProgramName = 'xdp_count';
export const counterMapName = 'counters';

export interface CounterTotals {
  packets: bigint;
  bytes: bigint;
}

export type CounterSnapshot = Record<CounterClass, CounterTotals>;

/** Loads the counter program, optionally with a verdict other than XDP_PASS. */
export async function loadCounter(options: { verdict?: number } = {}): Promise<BpfObject> {
  const object = BpfObject.open(bpfObjectPath('counter'));
  try {
    if (options.verdict !== undefined) object.setRodata('counter_verdict', options.verdict);
    await object.load();
    return object;
  } catch (err) {
    object.close();
    throw err;
  }
}

/** Sums a counters map across CPUs. */
export function readCounters(map: BpfMap): CounterSnapshot {
  const out = {} as CounterSnapshot;
  counterClasses.forEach((name, index) => {
    const totals: CounterTotals = { packets: 0n, bytes: 0n };
    for (const value of map.lookupPerCpu(counterKey(index)) ?? []) {
      const v = counterValue.decode(value);
      totals.packets += v.packets;
      totals.bytes += v.bytes;
    }
    out[name] = totals;
  });
  return out;
}

export interface PinnedCounter {
  mode: 'native' | 'generic' | undefined;
  linkPath: string;
  mapPath: string;
}

export function counterPins(pinDir: string): { linkPath: string; mapPath: string } {
  return { linkPath: join(pinDir, 'link'), mapPath: join(pinDir, counterMapName) };
}

/** Attaches the counter to `ifname` and pins link and map under `pinDir`, so it outlives this process. */
export async function attachPinnedCounter(
  ifname: string,
  pinDir: string,
  mode: XdpAttachMode,
): Promise<PinnedCounter> {
  const pins = counterPins(pinDir);
  mkdirSync(pinDir, { recursive: true });
  const object = await loadCounter();
  try {
    const map = object.map(counterMapName);
    map.pin(pins.mapPath);
    map.close();
    const program = object.program(counterProgramName);
    const link = program.attachXdp(ifname, { mode });
    program.close();
    try {
      link.pin(pins.linkPath);
    } catch (err) {
      link.close();
      rmSync(pins.mapPath, { force: true });
      throw err;
    }
    link.close();
    return { mode: link.mode, ...pins };
  } finally {
    object.close();
  }
}

/** Detaches a pinned counter and removes its pins. */
export function detachPinnedCounter(pinDir: string): void {
  const pins = counterPins(pinDir);
  const link = BpfLink.openPinned(pins.linkPath);
  try {
    link.detach();
    link.unpin();
  } finally {
    link.close();
  }
  rmSync(pinDir, { recursive: true, force: true });
}

export function readPinnedCounters(pinDir: string): CounterSnapshot {
  const map = BpfMap.openPinned(counterPins(pinDir).mapPath);
  try {
    return readCounters(map);
  } finally {
    map.close();
  }
}
