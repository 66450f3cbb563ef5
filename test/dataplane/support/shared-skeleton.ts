/**
 * lb_xdp loaded once per test process and per load setting, then lent to
 * every data plane a test opens with that setting. A load runs the verifier,
 * which takes seconds on the host and tens of seconds in the VM tier's
 * emulated kernels: far longer than the tests themselves. Each loan starts
 * from maps in the state of a fresh load, and the data plane gets its own
 * descriptors, so closing or destroying it works as on a load of its own.
 *
 * Pinned maps are not lent (loaded afresh): their reuse across loads is
 * what the pinning tests check.
 */
import { type BpfMap, BpfRingBuffer } from '../../../src/bpf/index.js';
import {
  type LbSkeleton,
  type LbSkeletonOptions,
  loadLbSkeleton,
} from '../../../src/dataplane/xdp/skeleton.js';

/** Idle skeletons by load setting; one in use by a data plane is not here. */
const idle = new Map<string, LbSkeleton[]>();

/** Puts every map of a skeleton back in the state a fresh load leaves it in. */
export function resetMaps(skeleton: LbSkeleton): void {
  for (const map of Object.values(skeleton.maps)) resetMap(map);
  // Connection sync's events nobody read: consumed, so the ring is empty.
  const ring = BpfRingBuffer.open(skeleton.syncEvents);
  try {
    while (ring.drain(1 << 20).length > 0);
  } finally {
    ring.close();
  }
}

function resetMap(map: BpfMap): void {
  const { typeName, maxEntries, valueSize } = map.info;
  switch (typeName) {
    case 'array':
    case 'percpu_array': {
      // A new array map is all zeros.
      const zero = Buffer.alloc(valueSize);
      const entries = Array.from({ length: maxEntries }, (_, i) => {
        const key = Buffer.alloc(4);
        key.writeUInt32LE(i);
        return [key, zero] as const;
      });
      map.updateBatch(entries);
      return;
    }
    case 'hash':
    case 'lru_hash':
    case 'devmap_hash':
      for (const key of [...map.keys()]) map.delete(key);
      return;
    default:
      throw new Error(
        `shared-skeleton: cannot reset map ${map.name} of type ${typeName}; teach resetMap how`,
      );
  }
}

function duplicate(skeleton: LbSkeleton): LbSkeleton {
  const maps = Object.fromEntries(
    Object.entries(skeleton.maps).map(([key, map]) => [key, map.duplicate()]),
  ) as unknown as LbSkeleton['maps'];
  return {
    program: skeleton.program.duplicate(),
    maps,
    syncLearn: skeleton.syncLearn?.duplicate(),
    syncEvents: skeleton.syncEvents.duplicate(),
  };
}

/**
 * Lends skeletons to the data planes of one test (its `load` goes in
 * XdpDataPlaneOptions.loadSkeleton); `giveBack` once they are closed.
 */
export class SkeletonLender {
  private readonly lent: { key: string; skeleton: LbSkeleton }[] = [];

  readonly load = async (options: LbSkeletonOptions): Promise<LbSkeleton> => {
    if (options.pinDir !== undefined) return loadLbSkeleton(options);
    const key = JSON.stringify([
      options.objectPath,
      options.rodata,
      options.maxEntries,
      options.syncEventsBytes,
    ]);
    let skeleton = idle.get(key)?.pop();
    if (skeleton === undefined) skeleton = await loadLbSkeleton(options);
    else resetMaps(skeleton);
    this.lent.push({ key, skeleton });
    return duplicate(skeleton);
  };

  /** Returns what this lender lent; the data planes using it must be closed. */
  giveBack(): void {
    for (const { key, skeleton } of this.lent.splice(0)) {
      const list = idle.get(key) ?? [];
      list.push(skeleton);
      idle.set(key, list);
    }
  }
}
