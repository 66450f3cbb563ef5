import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { BpfMap } from '../bpf/index.js';
import { LbctlError } from '../errors.js';
import { native } from '../native/addon.js';
import {
  currentNetworkNamespace,
  type NetworkNamespaceId,
  namespaceName,
  sameNamespace,
} from '../netns/identity.js';

/**
 * Why a directory on the way to the pins is unsafe, or undefined. bpffs
 * (/sys/fs/bpf) is world-writable with the sticky bit, like /tmp: a
 * directory there that another user made, or may write, lets that user
 * unlink a pinned link (detaching XDP) or swap a map for their own. So every
 * directory lbctl pins into must be a real directory (not a symbolic link),
 * owned by root (or by the user lbctl runs as) and writable by its owner
 * only; above it, root-owned sticky directories are allowed too.
 */
export function unsafePinDirectory(stats: Stats, owned: boolean): string | undefined {
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (!stats.isDirectory()) return 'is not a directory';
  const euid = process.geteuid?.() ?? 0;
  if (stats.uid !== 0 && stats.uid !== euid) return `is owned by uid ${stats.uid}`;
  const sticky = (stats.mode & 0o1000) !== 0;
  if (!owned && sticky && stats.uid === 0) return undefined;
  if ((stats.mode & 0o022) !== 0)
    return `is writable by ${(stats.mode & 0o002) !== 0 ? 'everyone' : 'its group'}`;
  return undefined;
}

function refuse(path: string, reason: string): LbctlError {
  return new LbctlError(
    'DATAPLANE_UNSAFE_PIN_DIR',
    `Cannot use pin directory ${path}: it ${reason}; it must be root's and writable by root only (remove it and start again)`,
  );
}

/** Who holds (or last held) a pin directory: kept in its owner record. */
export interface PinOwner {
  readonly pid: number;
  /** The holder's network namespace: its XDP links serve that namespace's interfaces. */
  readonly netns: NetworkNamespaceId;
}

/**
 * The owner record, pinned beside the maps: bpffs holds only BPF objects and
 * directories, so the record is a one-entry array map (netns inode u64,
 * netns device u64, pid u32).
 */
export const OWNER_PIN = 'owner';
const OWNER_BYTES = 24;

function encodeOwner(owner: PinOwner): Buffer {
  const value = Buffer.alloc(OWNER_BYTES);
  value.writeBigUInt64LE(owner.netns.inode, 0);
  value.writeBigUInt64LE(owner.netns.device, 8);
  value.writeUInt32LE(owner.pid, 16);
  return value;
}

function decodeOwner(value: Buffer | undefined): PinOwner | undefined {
  if (value === undefined || value.length < OWNER_BYTES) return undefined;
  const inode = value.readBigUInt64LE(0);
  if (inode === 0n) return undefined;
  return { netns: { inode, device: value.readBigUInt64LE(8) }, pid: value.readUInt32LE(16) };
}

/** The record in `path`, or undefined when there is none (a fresh directory, an older lbctl). */
export function readPinOwner(path: string): PinOwner | undefined {
  let map: BpfMap;
  try {
    map = BpfMap.openPinned(join(path, OWNER_PIN));
  } catch {
    return undefined;
  }
  try {
    return map.info.valueSize === OWNER_BYTES ? decodeOwner(map.lookup(KEY_ZERO)) : undefined;
  } finally {
    map.close();
  }
}

function writePinOwner(path: string, owner: PinOwner): void {
  const file = join(path, OWNER_PIN);
  let map: BpfMap;
  try {
    map = BpfMap.openPinned(file);
  } catch {
    map = BpfMap.createArray('lb_owner', OWNER_BYTES, 1);
    map.pin(file);
  }
  try {
    map.update(KEY_ZERO, encodeOwner(owner));
  } finally {
    map.close();
  }
}

const KEY_ZERO = Buffer.alloc(4);

export interface PinDirectoryOptions {
  /**
   * How many of the directory's pinned links are still attached to an
   * interface. Asked only when the last holder ran in another network
   * namespace: its links then serve interfaces this daemon cannot see.
   */
  readonly attachedLinks?: (path: string) => number;
}

function inUse(path: string, reason: string): LbctlError {
  return new LbctlError('DATAPLANE_PIN_DIR_IN_USE', `Cannot use pin directory ${path}: ${reason}`);
}

/** The pin directory of one data plane, checked (and created when missing) before anything is pinned. */
export class PinDirectory {
  private constructor(
    readonly path: string,
    /** Created by this start: a failed start removes it again. */
    readonly created: boolean,
    /** The locked owner file, held open until release(). */
    private lockFd: number | undefined,
    /** The previous holder, when it ran in another namespace whose links are all gone. */
    readonly replacedOwner: PinOwner | undefined,
  ) {}

  /**
   * Makes `path` (and missing parents below the bpffs mount) as private
   * directories one at a time, so none is ever taken over half-made, and
   * checks every existing one on the way with unsafePinDirectory.
   */
  static prepare(path: string, options: PinDirectoryOptions = {}): PinDirectory {
    const chain: string[] = [];
    for (let p = path; p !== dirname(p); p = dirname(p)) chain.unshift(p);
    let created = false;
    for (const [index, dir] of chain.entries()) {
      const ours = index === chain.length - 1;
      let stats: Stats;
      try {
        stats = lstatSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        try {
          mkdirSync(dir, { mode: 0o700 });
          if (ours) created = true;
        } catch (mkdirErr) {
          // Someone else made it in between: check theirs like any other.
          if ((mkdirErr as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirErr;
        }
        stats = lstatSync(dir);
      }
      // The pin directory itself is lbctl's own: never a sticky shared one.
      const reason = unsafePinDirectory(stats, ours);
      if (reason !== undefined) throw refuse(dir, reason);
    }
    const netns = currentNetworkNamespace();
    const fd = PinDirectory.lock(path, netns);
    try {
      const previous = readPinOwner(path);
      let replacedOwner: PinOwner | undefined;
      if (previous !== undefined && !sameNamespace(previous.netns, netns)) {
        const attached = options.attachedLinks?.(path) ?? 0;
        if (attached > 0) {
          throw inUse(
            path,
            `its XDP links (${attached} still attached) belong to lbctl pid ${previous.pid} in network namespace ${namespaceName(previous.netns)}, and this lbctl runs in ${namespaceName(netns)}; give one of the two another instance name, or remove ${path} if that director is gone for good`,
          );
        }
        replacedOwner = previous;
      }
      writePinOwner(path, { pid: process.pid, netns });
      return new PinDirectory(path, created, fd, replacedOwner);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /**
   * Takes the flock on the directory itself, non-blocking: a second daemon
   * on the same pins (same instance name, any network namespace, any run
   * directory) is refused rather than sharing them. The lock counts only if
   * the path still names the locked directory (a holder that removed its
   * pins meanwhile took the directory away).
   */
  private static lock(path: string, netns: NetworkNamespaceId): number {
    for (let attempt = 0; attempt < 3; attempt++) {
      // libuv adds O_CLOEXEC: scripts the daemon starts never inherit (and outlive it holding) the lock.
      const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        if (!native().tryLockExclusive(fd)) {
          const holder = readPinOwner(path);
          const where =
            holder === undefined
              ? ''
              : sameNamespace(holder.netns, netns)
                ? ` in this network namespace (${namespaceName(netns)})`
                : ` in network namespace ${namespaceName(holder.netns)}, while this lbctl runs in ${namespaceName(netns)}`;
          throw inUse(
            path,
            `lbctl pid ${holder?.pid ?? '?'} holds it${where}; two daemons with the same instance name cannot share pins: give one of them another instance name`,
          );
        }
        const current = lstatSync(path, { throwIfNoEntry: false });
        if (current !== undefined && current.ino === fstatSync(fd).ino) return fd;
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      closeSync(fd); // locked a directory its holder removed meanwhile: try the new one
    }
    throw inUse(path, 'it keeps being replaced while lbctl locks it');
  }

  /**
   * After someone removed the whole directory (`rm -r`): makes it again
   * (0700) and locks the new one, so the pins can be put back and a second
   * daemon still cannot take them. Returns what it did, or undefined when the
   * directory is still the locked one.
   */
  restore(): string | undefined {
    if (this.lockFd === undefined) return undefined;
    const current = lstatSync(this.path, { throwIfNoEntry: false });
    if (current !== undefined && current.ino === fstatSync(this.lockFd).ino) return undefined;
    if (current === undefined) mkdirSync(this.path, { mode: 0o700 });
    else {
      const reason = unsafePinDirectory(current, true);
      if (reason !== undefined) throw refuse(this.path, reason);
    }
    const netns = currentNetworkNamespace();
    const fd = PinDirectory.lock(this.path, netns);
    closeSync(this.lockFd);
    this.lockFd = fd;
    writePinOwner(this.path, { pid: process.pid, netns });
    return `pin directory ${this.path} had been removed or replaced: made again and locked`;
  }

  /** Writes the owner record again if someone removed or changed it; true when it did. */
  restoreOwnerRecord(): boolean {
    if (this.lockFd === undefined) return false;
    const record = readPinOwner(this.path);
    const netns = currentNetworkNamespace();
    if (record?.pid === process.pid && sameNamespace(record.netns, netns)) return false;
    writePinOwner(this.path, { pid: process.pid, netns });
    return true;
  }

  /** Releases the lock (the pins stay; the next daemon of this instance adopts them). */
  release(): void {
    if (this.lockFd === undefined) return;
    closeSync(this.lockFd);
    this.lockFd = undefined;
  }

  /** After a failed start: removes the directory and its pins if this start created it. */
  discardIfCreated(): void {
    if (!this.created) {
      this.release();
      return;
    }
    try {
      for (const name of readdirSync(this.path)) unlinkSync(join(this.path, name));
      rmdirSync(this.path);
    } catch {
      // Best effort: the start already failed with the error that matters.
    }
    this.release();
  }
}
