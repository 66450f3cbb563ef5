import { unlinkSync } from 'node:fs';
import type { NativeBpfMap, NativeMapInfo, ValuePart } from '../native/addon.js';
import { native } from './addon.js';
import { BpfError } from './errors.js';

/** How an update treats an existing key (BPF_ANY / BPF_NOEXIST / BPF_EXIST). */
export type UpdateMode = 'any' | 'noexist' | 'exist';

const updateFlags: Record<UpdateMode, number> = { any: 0, noexist: 1, exist: 2 };

export type MapInfo = Readonly<NativeMapInfo>;

/** Number of possible CPUs: the length of every per-CPU value. */
export function possibleCpus(): number {
  return native().possibleCpus();
}

/**
 * A BPF map handle owning one file descriptor. Keys and values are Buffers
 * of exactly the map's key and value sizes; typed codecs (src/bpf/codec.ts)
 * sit on top.
 */
export class BpfMap {
  readonly info: MapInfo;
  private pinnedAt: string | undefined;

  private constructor(
    private readonly handle: NativeBpfMap,
    pinnedAt?: string,
  ) {
    this.info = Object.freeze(handle.info());
    this.pinnedAt = pinnedAt;
  }

  /** Adopts an owned map file descriptor. */
  static fromFd(fd: number): BpfMap {
    return new BpfMap(new (native().BpfMap)(fd));
  }

  /** A new array map (u32 keys) made from user space, not part of any program. */
  static createArray(name: string, valueSize: number, maxEntries: number): BpfMap {
    return BpfMap.fromFd(native().createArrayMap(name, valueSize, maxEntries));
  }

  /** Opens a map pinned on bpffs (by this or any other process). */
  static openPinned(path: string): BpfMap {
    return new BpfMap(new (native().BpfMap)(native().objGet(path)), path);
  }

  get name(): string {
    return this.info.name;
  }

  /** Bytes one entry's value takes in a lookup or batch (per-CPU maps: every CPU's slot). */
  get valueBytes(): number {
    const { valueSize, perCpu } = this.info;
    return perCpu ? perCpuSlot(valueSize) * possibleCpus() : valueSize;
  }

  /** For BpfRingBuffer only. */
  get nativeHandle(): NativeBpfMap {
    return this.handle;
  }

  /** Where this handle pinned the map, or opened it from. */
  get pinPath(): string | undefined {
    return this.pinnedAt;
  }

  lookup(key: Buffer): Buffer | undefined {
    const value = this.handle.lookup(key);
    if (value === undefined || !this.info.perCpu) return value;
    // For per-CPU maps a plain lookup returns CPU 0's slot; use lookupPerCpu for all.
    return value.subarray(0, this.info.valueSize);
  }

  /** One value per possible CPU, or undefined when the key is absent. */
  lookupPerCpu(key: Buffer): Buffer[] | undefined {
    this.requirePerCpu('look up per-CPU values');
    const raw = this.handle.lookup(key);
    if (raw === undefined) return undefined;
    const slot = perCpuSlot(this.info.valueSize);
    const values: Buffer[] = [];
    for (let offset = 0; offset < raw.length; offset += slot) {
      values.push(raw.subarray(offset, offset + this.info.valueSize));
    }
    return values;
  }

  /** Writes one value; on a per-CPU map, the same value on every CPU. */
  update(key: Buffer, value: Buffer, mode: UpdateMode = 'any'): void {
    if (this.info.perCpu && value.length === this.info.valueSize) {
      this.updatePerCpu(
        key,
        Array.from({ length: possibleCpus() }, () => value),
        mode,
      );
      return;
    }
    this.handle.update(key, value, updateFlags[mode]);
  }

  /**
   * Writes many entries in one BPF_MAP_UPDATE_BATCH syscall; on a per-CPU map a
   * value of the map's value size goes to every CPU. Not atomic as a whole: on a
   * failure the error says how many were written.
   */
  updateBatch(entries: readonly (readonly [Buffer, Buffer])[], mode: UpdateMode = 'any'): void {
    if (entries.length === 0) return;
    const { keys, values } = this.packBatch(entries);
    this.handle.updateBatch(keys, values, updateFlags[mode]);
  }

  /**
   * updateBatch with the entries already laid end to end: `keys` holds whole
   * keys, `values` whole values (per-CPU maps: every possible CPU's 8-byte
   * aligned slot), saving a Buffer per entry on large batches.
   */
  updatePacked(keys: Buffer, values: Buffer, mode: UpdateMode = 'any'): void {
    if (keys.length === 0 && values.length === 0) return;
    this.handle.updateBatch(keys, values, updateFlags[mode]);
  }

  private packBatch(entries: readonly (readonly [Buffer, Buffer])[]): {
    keys: Buffer;
    values: Buffer;
  } {
    const { keySize, valueSize, perCpu } = this.info;
    const cpus = perCpu ? possibleCpus() : 1;
    const slot = perCpu ? perCpuSlot(valueSize) : valueSize;
    const keys = Buffer.alloc(keySize * entries.length);
    const values = Buffer.alloc(slot * cpus * entries.length);
    entries.forEach(([key, value], i) => {
      if (key.length !== keySize || value.length !== (perCpu ? valueSize : slot)) {
        throw new BpfError(
          `Cannot update keys in map ${this.name}: entry ${i} has a ${key.length}-byte key and a ${value.length}-byte value, the map expects ${keySize} and ${valueSize}`,
          'BPF_INVALID_ARGUMENT',
          0,
          'update keys',
        );
      }
      key.copy(keys, i * keySize);
      for (let cpu = 0; cpu < cpus; cpu++) value.copy(values, (i * cpus + cpu) * slot);
    });
    return { keys, values };
  }

  /**
   * Writes one value made of `parts` laid end to end, zero-padded to the
   * map's value size, on the libuv thread pool: a large value (a 256 KiB
   * ring) is copied into the kernel without holding the event loop. A
   * lookup part is expanded there too (see ValuePart). The parts must not
   * change until the promise settles. Not for per-CPU maps.
   */
  async updateOffLoop(
    key: Buffer,
    parts: readonly ValuePart[],
    mode: UpdateMode = 'any',
  ): Promise<void> {
    // async: a refused argument rejects like a failed write instead of throwing.
    await this.handle.updateOffLoop(key, parts, updateFlags[mode]);
  }

  /** Writes one value per possible CPU. */
  updatePerCpu(key: Buffer, values: readonly Buffer[], mode: UpdateMode = 'any'): void {
    this.requirePerCpu('update per-CPU values');
    const cpus = possibleCpus();
    if (values.length !== cpus) {
      throw new BpfError(
        `Cannot update per-CPU values in map ${this.name}: got ${values.length} values, there are ${cpus} possible CPUs`,
        'BPF_INVALID_ARGUMENT',
        0,
        'update key',
      );
    }
    const slot = perCpuSlot(this.info.valueSize);
    const raw = Buffer.alloc(slot * cpus);
    values.forEach((value, cpu) => {
      if (value.length !== this.info.valueSize) {
        throw new BpfError(
          `Cannot update key in map ${this.name}: value for CPU ${cpu} is ${value.length} bytes, the map expects ${this.info.valueSize}`,
          'BPF_INVALID_ARGUMENT',
          0,
          'update key',
        );
      }
      value.copy(raw, cpu * slot);
    });
    this.handle.update(key, raw, updateFlags[mode]);
  }

  /** Removes a key; false when it was not there. */
  delete(key: Buffer): boolean {
    return this.handle.delete(key);
  }

  *keys(): Generator<Buffer> {
    let key = this.handle.nextKey(null);
    while (key !== undefined) {
      yield key;
      key = this.handle.nextKey(key);
    }
  }

  /** Key/value pairs (a per-CPU map yields CPU 0's value; use lookupPerCpu per key). */
  *entries(): Generator<[Buffer, Buffer]> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      // A key deleted between nextKey and lookup is skipped, not an error.
      if (value !== undefined) yield [key, value];
    }
  }

  /**
   * Values of array indexes first..first+count-1 concatenated (fewer at the
   * map's end), read with batch lookups off the event loop.
   */
  readArray(first: number, count: number): Promise<Buffer> {
    return this.handle.readArray(first, count);
  }

  /**
   * For array indexes first..first+count-1 of a per-CPU array whose values
   * are u64 fields (fewer at the map's end): each field summed over the
   * possible CPUs, `valueSize / 8` numbers per entry in field order, read and
   * summed off the event loop. A sum is exact before it becomes a number, so
   * it equals Number() of the fields' BigInt sum.
   */
  readPerCpuSums(first: number, count: number): Promise<Float64Array> {
    return this.handle.readPerCpuSums(first, count);
  }

  pin(path: string): void {
    this.handle.pin(path);
    this.pinnedAt = path;
  }

  /** Removes the pin at `path` (default: where this handle pinned or opened it). */
  unpin(path: string | undefined = this.pinnedAt): void {
    if (path === undefined) {
      throw new BpfError(
        `Cannot unpin map ${this.name}: it is not pinned by this handle; give the path`,
        'BPF_INVALID_ARGUMENT',
        0,
        'unpin map',
      );
    }
    unlinkSync(path);
    if (path === this.pinnedAt) this.pinnedAt = undefined;
  }

  /** Another handle on the same map, with its own descriptor: closing either leaves the other working. */
  duplicate(): BpfMap {
    return BpfMap.fromFd(this.handle.dup());
  }

  /** Closes the descriptor; idempotent. The map lives on while pinned or used elsewhere. */
  close(): void {
    this.handle.close();
  }

  private requirePerCpu(action: string): void {
    if (!this.info.perCpu) {
      throw new BpfError(
        `Cannot ${action}: map ${this.name} (${this.info.typeName}) is not a per-CPU map`,
        'BPF_INVALID_ARGUMENT',
        0,
        action,
      );
    }
  }
}

function perCpuSlot(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}
