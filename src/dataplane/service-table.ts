/**
 * The service table as user space writes it: lb_services is an array of sets
 * of SERVICE_WAYS entries (see bpf/include/lb_abi.h). A key goes to its first
 * set (first hash) if that set has room, else to its second set, and the first
 * set is then marked `spilled` so the program looks there too.
 *
 * Every write is ordered so a packet never reads a half-written entry: an
 * entry is written with `live` = 0 and only then made live, a removal clears
 * `live` before the rest, and a ring flip rewrites the set with only
 * `ring_slot` changed (a single byte; the other bytes are rewritten with the
 * values they already hold).
 */
import type { BpfMap } from '../bpf/index.js';
import { LbctlError } from '../errors.js';
import { LoopSlicer } from '../time/loop-slice.js';
import * as abi from './abi.js';
import { HASH_LANE_1, HASH_LANE_2, serviceKeyHash, setOf } from './hash.js';

export type ServiceKeyValue = ReturnType<typeof abi.serviceKey.decode>;

export interface ServiceEntry {
  readonly key: ServiceKeyValue;
  readonly id: number;
  readonly ringSlot: number;
  /** The set it sits in. */
  readonly set: number;
}

/** Sets for `maxServices` keys: a power of two with at least one set per service (≤ 25% full). */
export function serviceTableSets(maxServices: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, maxServices)));
}

/** The two sets a key may live in (first, second), for a table of `sets` sets. */
export function serviceSets(key: ServiceKeyValue, sets: number): [number, number] {
  const bytes = abi.serviceKey.encode(key);
  const ipv4 = key.family === abi.FAMILY.ipv4;
  return [
    setOf(serviceKeyHash(bytes, ipv4, HASH_LANE_1), sets),
    setOf(serviceKeyHash(bytes, ipv4, HASH_LANE_2), sets),
  ];
}

const setKey = (set: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(set);
  return b;
};
const wayOffset = (way: number) => abi.serviceSet.offsetOf('ways') + way * abi.serviceSlot.size;
const svcOffset = (way: number) => wayOffset(way) + abi.serviceSlot.offsetOf('svc');
const liveAt = (way: number) => svcOffset(way) + abi.service.offsetOf('live');
const slotAt = (way: number) => svcOffset(way) + abi.service.offsetOf('ring_slot');
const idAt = (way: number) => svcOffset(way) + abi.service.offsetOf('id');
const spilledAt = abi.serviceSet.offsetOf('spilled');

export class ServiceTable {
  readonly sets: number;

  constructor(private readonly map: BpfMap) {
    this.sets = map.info.maxEntries;
  }

  /** Every live entry, in set and way order. */
  entries(): ServiceEntry[] {
    const out: ServiceEntry[] = [];
    for (let set = 0; set < this.sets; set++) {
      const value = this.read(set);
      for (let way = 0; way < abi.SERVICE_WAYS; way++) {
        const entry = decodeWay(value, set, way);
        if (entry !== undefined) out.push(entry);
      }
    }
    return out;
  }

  /**
   * Every live entry, as entries() gives them, with the table read in one
   * batch on the thread pool and decoded in loop slices (for readers that
   * run beside VRRP: status, metrics).
   */
  async entriesOffLoop(): Promise<ServiceEntry[]> {
    const raw = await this.map.readArray(0, this.sets);
    const size = abi.serviceSet.size;
    const slicer = new LoopSlicer();
    const out: ServiceEntry[] = [];
    for (let set = 0; (set + 1) * size <= raw.length; set++) {
      await slicer.maybeYield();
      const value = raw.subarray(set * size, (set + 1) * size);
      for (let way = 0; way < abi.SERVICE_WAYS; way++) {
        const entry = decodeWay(value, set, way);
        if (entry !== undefined) out.push(entry);
      }
    }
    return out;
  }

  /** The entry of `key`, if live. */
  find(key: ServiceKeyValue): ServiceEntry | undefined {
    const at = this.locate(key);
    return at === undefined ? undefined : decodeWay(this.read(at.set), at.set, at.way);
  }

  /**
   * Makes `key` name service `id` with ring `ringSlot` live: a new entry, or a
   * flip of an existing one (which must have the same id).
   */
  put(key: ServiceKeyValue, id: number, ringSlot: number, what: string): void {
    // Each set is looked up once per put (a pass puts thousands), and written
    // from that copy: nothing else writes the table while this runs.
    const read = new Map<number, Buffer>();
    const readOnce = (set: number): Buffer => {
      let value = read.get(set);
      if (value === undefined) {
        value = this.read(set);
        read.set(set, value);
      }
      return value;
    };
    const at = this.locate(key, readOnce);
    if (at !== undefined) {
      const value = readOnce(at.set);
      // locate found a live entry: its id is read in place, not decoded with its key.
      const current = value.readUInt32LE(idAt(at.way));
      if (current !== id) {
        throw new LbctlError(
          'DATAPLANE_INCONSISTENT',
          `Cannot update ${what}: its table entry names service id ${current}, not ${id}`,
        );
      }
      value.writeUInt8(ringSlot, slotAt(at.way));
      this.write(at.set, value);
      return;
    }
    const [first, second] = serviceSets(key, this.sets);
    let set = first;
    let way = freeWay(readOnce(first));
    if (way === undefined && second !== first) {
      set = second;
      way = freeWay(readOnce(second));
    }
    if (way === undefined) {
      throw new LbctlError(
        'DATAPLANE_FULL',
        `Cannot add ${what}: both of its service-table sets (${first}, ${second}) are full; ` +
          'raise maxServices',
      );
    }
    // setSpilled rewrites `first` only, never `set` here.
    if (set !== first) this.setSpilled(first, true);
    const value = readOnce(set);
    const entry = abi.serviceSlot.encode({
      key: abi.serviceKey.encode(key),
      svc: abi.service.encode({ id, ring_slot: ringSlot, live: 0 }),
    });
    entry.copy(value, wayOffset(way));
    this.write(set, value);
    value.writeUInt8(1, liveAt(way));
    this.write(set, value);
  }

  /** Removes `key`'s entry; false when there is none. */
  delete(key: ServiceKeyValue): boolean {
    const at = this.locate(key);
    if (at === undefined) return false;
    const value = this.read(at.set);
    value.writeUInt8(0, liveAt(at.way));
    this.write(at.set, value);
    value.fill(0, wayOffset(at.way), wayOffset(at.way) + abi.serviceSlot.size);
    this.write(at.set, value);
    const [first] = serviceSets(key, this.sets);
    if (at.set !== first && !this.hasSpillOf(first)) this.setSpilled(first, false);
    return true;
  }

  private locate(
    key: ServiceKeyValue,
    read: (set: number) => Buffer = (set) => this.read(set),
  ): { set: number; way: number } | undefined {
    const wanted = abi.serviceKey.encode(key);
    for (const set of new Set(serviceSets(key, this.sets))) {
      const value = read(set);
      for (let way = 0; way < abi.SERVICE_WAYS; way++) {
        if (value.readUInt8(liveAt(way)) === 0) continue;
        const at = wayOffset(way) + abi.serviceSlot.offsetOf('key');
        if (value.subarray(at, at + abi.serviceKey.size).equals(wanted)) return { set, way };
      }
    }
    return undefined;
  }

  /** Whether a live key whose first set is `first` lives in another set. */
  private hasSpillOf(first: number): boolean {
    return this.entries().some((e) => {
      const [f, s] = serviceSets(e.key, this.sets);
      return f === first && s !== f && this.locate(e.key)?.set === s;
    });
  }

  private setSpilled(set: number, spilled: boolean): void {
    const value = this.read(set);
    value.writeUInt32LE(spilled ? 1 : 0, spilledAt);
    this.write(set, value);
  }

  private read(set: number): Buffer {
    const value = this.map.lookup(setKey(set));
    if (value === undefined) {
      throw new LbctlError(
        'DATAPLANE_INCONSISTENT',
        `Cannot read service-table set ${set}: the array has no such entry`,
      );
    }
    return Buffer.from(value);
  }

  private write(set: number, value: Buffer): void {
    this.map.update(setKey(set), value);
  }
}

function decodeWay(value: Buffer, set: number, way: number): ServiceEntry | undefined {
  if (value.readUInt8(liveAt(way)) === 0) return undefined;
  const slot = abi.serviceSlot.decode(value, wayOffset(way));
  const svc = abi.service.decode(slot.svc);
  return { key: abi.serviceKey.decode(slot.key), id: svc.id, ringSlot: svc.ring_slot, set };
}

function freeWay(value: Buffer): number | undefined {
  for (let way = 0; way < abi.SERVICE_WAYS; way++) {
    if (value.readUInt8(liveAt(way)) === 0) return way;
  }
  return undefined;
}
