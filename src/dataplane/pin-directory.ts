import { lstatSync, mkdirSync, readdirSync, rmdirSync, type Stats, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LbctlError } from '../errors.js';

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

/** The pin directory of one data plane, checked (and created when missing) before anything is pinned. */
export class PinDirectory {
  private constructor(
    readonly path: string,
    /** Created by this start: a failed start removes it again. */
    readonly created: boolean,
  ) {}

  /**
   * Makes `path` (and missing parents below the bpffs mount) as private
   * directories one at a time, so none is ever taken over half-made, and
   * checks every existing one on the way with unsafePinDirectory.
   */
  static prepare(path: string): PinDirectory {
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
    return new PinDirectory(path, created);
  }

  /** After a failed start: removes the directory and its pins if this start created it. */
  discardIfCreated(): void {
    if (!this.created) return;
    try {
      for (const name of readdirSync(this.path)) unlinkSync(join(this.path, name));
      rmdirSync(this.path);
    } catch {
      // Best effort: the start already failed with the error that matters.
    }
  }
}
