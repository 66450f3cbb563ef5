/**
 * The scheduling ring of one service: its lb_ring_params (scheduler, flags,
 * persistence) followed by the real ids the program picks from — an rr/wrr
 * sequence walked by a shared position, or a weighted Maglev table indexed
 * by a flow hash.
 */

import { canonicalAddress } from '../../net/address.js';
import * as abi from '../abi.js';
import type { RealSpec, ServiceSpec } from '../dataplane.js';
import { type MaglevPreference, maglevPreference, maglevTableOffLoop } from '../maglev.js';
import { rrSequence, wrrSequence } from '../wrr.js';

/** A real as the ring sees it: its id in lb_reals and what identifies it in Maglev. */
export interface RingReal {
  readonly id: number;
  readonly spec: Pick<RealSpec, 'address' | 'port' | 'weight'>;
  /**
   * Its Maglev key and preference: buildRing fills it in on first use, and the
   * caller keeps it with the real, so later tables of its service (a weight
   * change) skip hashing the key again.
   */
  maglev?: MaglevIdentity;
}

/** What places a real in a Maglev table; depends only on its address and port. */
export interface MaglevIdentity {
  readonly key: string;
  readonly preference: MaglevPreference;
}

export type RingService = Pick<ServiceSpec, 'vip' | 'scheduler' | 'persistence' | 'hashSourcePort'>;

/** A built ring: its lb_ring_params and its entries, ready to be encoded. */
export interface Ring {
  readonly params: Buffer;
  readonly entries: Uint32Array;
  /** How many entries the program uses. */
  readonly length: number;
}

/** A service's ring. A Maglev table is filled off the event loop (maglevTableOffLoop). */
export async function buildRing(spec: RingService, reals: readonly RingReal[]): Promise<Ring> {
  const sched = abi.SCHED[spec.scheduler as abi.XdpScheduler];
  if (sched === undefined) {
    throw new Error(`buildRing: scheduler ${spec.scheduler} has no XDP code`);
  }
  let entries: Uint32Array;
  let length: number;
  if (spec.scheduler === 'rr' || spec.scheduler === 'wrr') {
    const weighted = reals.map((r) => ({ id: r.id, weight: r.spec.weight }));
    const seq =
      spec.scheduler === 'rr' ? rrSequence(weighted) : wrrSequence(weighted, abi.RING_SIZE);
    entries = Uint32Array.from(seq);
    length = seq.length;
  } else {
    entries = await maglevTableOffLoop(
      reals.map((r) => {
        r.maglev ??= maglevIdentity(r.spec);
        return {
          id: r.id,
          key: r.maglev.key,
          weight: r.spec.weight,
          preference: r.maglev.preference,
        };
      }),
      abi.RING_SIZE,
    );
    length = reals.some((r) => r.spec.weight > 0) ? abi.RING_SIZE : 0;
  }
  const params = abi.ringParams.encode({
    ring_len: length,
    sched,
    flags:
      (spec.persistence ? abi.SVC_F_PERSISTENT : 0) |
      (spec.hashSourcePort ? abi.SVC_F_HASH_PORT : 0),
    persist_prefix: persistPrefix(spec),
    persist_timeout_s: spec.persistence?.timeoutS ?? 0,
  });
  return { params, entries, length };
}

/**
 * The lb_rings value of a ring as parts laid end to end (lb_ring_params, then
 * the entries in host byte order, which is what the program reads); the map
 * write zero-pads them to abi.RING_BYTES (BpfMap.updateOffLoop), so no
 * 256 KiB value is assembled on the event loop.
 */
export function ringParts(ring: Ring): [Buffer, Buffer] {
  const { buffer, byteOffset, byteLength } = ring.entries;
  return [ring.params, Buffer.from(buffer, byteOffset, byteLength)];
}

function maglevIdentity(spec: Pick<RealSpec, 'address' | 'port'>): MaglevIdentity {
  // The key, not learning order, places a real: directors behind ECMP agree.
  const key = `${canonicalAddress(spec.address)}|${spec.port}`;
  return { key, preference: maglevPreference(key, abi.RING_SIZE) };
}

function persistPrefix(spec: Pick<ServiceSpec, 'vip' | 'persistence'>): number {
  if (spec.persistence === undefined) return 0;
  const family = abi.familyOf(spec.vip, `VIP ${spec.vip}`);
  return spec.persistence.prefixLength ?? (family === 'ipv4' ? 32 : 128);
}
