/**
 * The scheduling ring of one service: its lb_ring_params (scheduler, flags,
 * persistence) followed by the real ids the program picks from — an rr/wrr
 * sequence walked by a shared position, or a weighted Maglev table indexed
 * by a flow hash.
 */

import type { ValuePart } from '../../native/addon.js';
import { canonicalAddress } from '../../net/address.js';
import * as abi from '../abi.js';
import type { RealSpec, ServiceSpec } from '../dataplane.js';
import { indexBytes, type MaglevPreference, maglevPreference, placementIds } from '../maglev.js';
import { type MaglevFill, MaglevFills } from '../maglev-fills.js';
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

/** A Maglev table as a placement (backend indices, maybe shared) and this service's ids. */
export interface MaglevEntries {
  readonly placement: Buffer;
  readonly ids: Uint32Array;
}

/** A built ring: its lb_ring_params and its entries, ready to be encoded. */
export interface Ring {
  readonly params: Buffer;
  /** rr/wrr: the real ids in order; mh: the table as a placement and ids. */
  readonly entries: Uint32Array | MaglevEntries;
  /** How many entries the program uses. */
  readonly length: number;
  /** The shared placement this ring holds (mh): release it once the ring is replaced. */
  readonly maglev?: MaglevFill;
}

/**
 * A service's ring. A Maglev table's placement is filled off the event loop,
 * or shared with services that have the same backends (`fills`); the caller
 * releases `ring.maglev` when the service stops using the ring.
 */
export async function buildRing(
  spec: RingService,
  reals: readonly RingReal[],
  fills: MaglevFills = new MaglevFills(),
): Promise<Ring> {
  const sched = abi.SCHED[spec.scheduler as abi.XdpScheduler];
  if (sched === undefined) {
    throw new Error(`buildRing: scheduler ${spec.scheduler} has no XDP code`);
  }
  let entries: Uint32Array | MaglevEntries;
  let length: number;
  let maglev: MaglevFill | undefined;
  if (spec.scheduler === 'rr' || spec.scheduler === 'wrr') {
    const weighted = reals.map((r) => ({ id: r.id, weight: r.spec.weight }));
    const seq =
      spec.scheduler === 'rr' ? rrSequence(weighted) : wrrSequence(weighted, abi.RING_SIZE);
    entries = Uint32Array.from(seq);
    length = seq.length;
  } else {
    maglev = fills.acquire(
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
    if (maglev === undefined) {
      entries = new Uint32Array(0);
      length = 0;
    } else {
      try {
        entries = { placement: await maglev.placement, ids: maglev.ids };
      } catch (err) {
        maglev.release();
        throw err;
      }
      length = abi.RING_SIZE;
    }
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
  return { params, entries, length, ...(maglev !== undefined ? { maglev } : {}) };
}

/**
 * The lb_rings value of a ring as parts laid end to end (lb_ring_params, then
 * the entries in host byte order, which is what the program reads); the map
 * write zero-pads them to abi.RING_BYTES (BpfMap.updateOffLoop) and turns a
 * Maglev placement into ids there, so no 256 KiB value is assembled on the
 * event loop.
 */
export function ringParts(ring: Ring): [Buffer, ValuePart] {
  const entries = ring.entries;
  if (entries instanceof Uint32Array) {
    const { buffer, byteOffset, byteLength } = entries;
    return [ring.params, Buffer.from(buffer, byteOffset, byteLength)];
  }
  const { buffer, byteOffset, byteLength } = entries.ids;
  return [
    ring.params,
    {
      indices: entries.placement,
      indexBytes: indexBytes(entries.ids.length),
      values: Buffer.from(buffer, byteOffset, byteLength),
    },
  ];
}

/** The ring's entries as real ids (what ringParts writes), for inspection. */
export function ringIds(ring: Ring): Uint32Array {
  const entries = ring.entries;
  if (entries instanceof Uint32Array) return entries;
  return placementIds(entries.placement, entries.ids, ring.length);
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
