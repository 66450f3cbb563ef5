import { native } from '../bpf/addon.js';
import { liveBackends, type MaglevBackend, maglevPlacementOffLoop } from './maglev.js';

/** A placement held by one service until it calls release(). */
export interface MaglevFill {
  /** Per slot, the index of its backend in `ids` (indexBytes(ids.length) bytes each). */
  readonly placement: Promise<Buffer>;
  /** This service's ids of the live backends, in placement (key) order. */
  readonly ids: Uint32Array;
  /** The service no longer uses this placement (its ring was replaced or removed). */
  release(): void;
  /** Another service holds the same placement too. */
  readonly shared: boolean;
}

interface Shared {
  readonly placement: Promise<Buffer>;
  users: number;
}

/**
 * Maglev placements shared by services whose live backends have the same keys
 * and weights, so one fill serves all of them: a `virtual_server_group` range
 * is one service per address, each with the same reals, and a pool behind
 * TCP and UDP (or several VIPs) is the same. A placement depends only on the
 * keys and weights, not on the ids (each service has its own): the ring write
 * turns indices into that service's ids. A placement is kept while a service
 * uses it (64 KiB per distinct table of up to 256 reals at the default size)
 * and freed with its last user, at once (maglevFree), not at the garbage
 * collection that would find it unused: a pass that changes every service
 * replaces all of them, and V8 counts them as external memory until then.
 * A user must not read its placement after release().
 */
export class MaglevFills {
  private readonly shared = new Map<string, Shared>();

  /** The placement of `backends` in a `size`-slot table; undefined when none has weight. */
  acquire(backends: readonly MaglevBackend[], size: number): MaglevFill | undefined {
    const live = liveBackends(backends);
    if (live.length === 0) return undefined;
    // Keys are address|port (no tabs or newlines); the order is the table's.
    let key = String(size);
    for (const b of live) key += `\n${b.key}\t${b.weight}`;
    let entry = this.shared.get(key);
    if (entry === undefined) {
      const created: Shared = { placement: maglevPlacementOffLoop(live, size), users: 0 };
      // A failed fill is not kept: the next service with these backends tries again.
      created.placement.catch(() => {
        if (this.shared.get(key) === created) this.shared.delete(key);
      });
      this.shared.set(key, created);
      entry = created;
    }
    const held = entry;
    held.users++;
    let released = false;
    return {
      placement: held.placement,
      ids: Uint32Array.from(live, (b) => b.id),
      get shared() {
        return !released && held.users > 1;
      },
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0) return;
        if (this.shared.get(key) === held) this.shared.delete(key);
        // A failed fill has nothing to free (and is reported to its users).
        held.placement.then(
          (placement) => native().maglevFree(placement),
          () => undefined,
        );
      },
    };
  }

  /** Distinct placements held. */
  get size(): number {
    return this.shared.size;
  }
}
