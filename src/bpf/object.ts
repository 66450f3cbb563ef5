import type { NativeBpfObject, NativeBtfMember } from '../native/addon.js';
import { native } from './addon.js';
import { BpfError } from './errors.js';
import { BpfMap } from './map.js';
import { BpfProgram } from './program.js';

export interface OpenOptions {
  /** Root directory for maps declared with LIBBPF_PIN_BY_NAME. */
  pinRoot?: string;
}

export interface BtfStruct {
  size: number;
  members: NativeBtfMember[];
}

/**
 * A BPF ELF object: open → configure (rodata, map sizes, pins) → load →
 * look up programs and maps. Programs and maps handed out own their own
 * descriptors and stay valid after the object is closed.
 */
export class BpfObject {
  private constructor(
    private readonly handle: NativeBpfObject,
    readonly path: string,
  ) {}

  static open(path: string, options: OpenOptions = {}): BpfObject {
    const handle =
      options.pinRoot === undefined
        ? new (native().BpfObject)(path)
        : new (native().BpfObject)(path, options.pinRoot);
    return new BpfObject(handle, path);
  }

  get loaded(): boolean {
    return this.handle.isLoaded();
  }

  /** Names and sizes of the `const volatile` globals that setRodata can write. */
  rodataVariables(): { name: string; offset: number; size: number }[] {
    return this.handle.rodataVariables();
  }

  /**
   * Sets a `const volatile` global before load. Numbers and bigints are
   * written little-endian (host order) at the variable's width.
   */
  setRodata(name: string, value: number | bigint | Buffer): void {
    const variable = this.rodataVariables().find((v) => v.name === name);
    if (variable === undefined) {
      throw new BpfError(
        `Cannot set rodata variable ${name}: ${this.path} has no such const volatile global`,
        'BPF_NOT_FOUND',
        0,
        'set rodata',
      );
    }
    this.handle.setRodata(variable.offset, encodeScalar(name, value, variable.size));
  }

  setMaxEntries(map: string, entries: number): void {
    this.handle.setMaxEntries(map, entries);
  }

  /** Uses an already pinned map instead of creating `map` at load. */
  reusePinnedMap(map: string, path: string): void {
    this.handle.reusePinnedMap(map, path);
  }

  /** Pins `map` at `path` during load (reusing a compatible map already pinned there). */
  setPinPath(map: string, path: string): void {
    this.handle.setPinPath(map, path);
  }

  /** Whether load() verifies and creates `program` (all are loaded unless told). */
  setAutoload(program: string, autoload: boolean): void {
    this.handle.setAutoload(program, autoload);
  }

  /** Loads into the kernel; the verifier runs off the JS thread. */
  load(): Promise<void> {
    return this.handle.load();
  }

  programNames(): string[] {
    return this.handle.programNames();
  }

  mapNames(): string[] {
    return this.handle.mapNames();
  }

  program(name: string): BpfProgram {
    return BpfProgram.fromFd(this.handle.programFd(name));
  }

  map(name: string): BpfMap {
    return BpfMap.fromFd(this.handle.mapFd(name));
  }

  /** A struct's layout from the object's BTF (to check user-space codecs). */
  btfStruct(name: string): BtfStruct | undefined {
    return this.handle.btfStruct(name);
  }

  /** Frees the object; idempotent. */
  close(): void {
    this.handle.close();
  }
}

function encodeScalar(name: string, value: number | bigint | Buffer, size: number): Buffer {
  if (Buffer.isBuffer(value)) {
    if (value.length !== size) {
      throw new BpfError(
        `Cannot set rodata variable ${name}: value is ${value.length} bytes, the variable is ${size}`,
        'BPF_INVALID_ARGUMENT',
        0,
        'set rodata',
      );
    }
    return value;
  }
  const buf = Buffer.alloc(size);
  const big = BigInt(value);
  const limit = 1n << BigInt(size * 8);
  if (big < -(limit >> 1n) || big >= limit) {
    throw new BpfError(
      `Cannot set rodata variable ${name}: ${value} does not fit in ${size} bytes`,
      'BPF_INVALID_ARGUMENT',
      0,
      'set rodata',
    );
  }
  const unsigned = big < 0n ? big + limit : big;
  for (let i = 0; i < size; i++) buf[i] = Number((unsigned >> BigInt(8 * i)) & 0xffn);
  return buf;
}
