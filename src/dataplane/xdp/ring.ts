/**
 * The scheduling ring of one service: its lb_ring_params (scheduler, flags,
 * persistence) followed by the real ids the program picks from — an rr/wrr
 * sequence walked by a shared position, or a weighted Maglev table indexed
 * by a flow hash.
 */
import * as abi from '../abi.js';
import type { RealSpec, ServiceSpec } from '../dataplane.js';
import { maglevTableOffLoop } from '../maglev.js';
import { rrSequence, wrrSequence } from '../wrr.js';

/** A real as the ring sees it: its id in lb_reals and what identifies it in Maglev. */
export interface RingReal {
  readonly id: number;
  readonly spec: Pick<RealSpec, 'address' | 'port' | 'weight'>;
}

export type RingService = Pick<ServiceSpec, 'vip' | 'scheduler' | 'persistence' | 'hashSourcePort'>;

/**
 * The ring value for lb_rings (abi.RING_BYTES), and how many entries of it are
 * used. A Maglev table is filled off the event loop (maglevTableOffLoop).
 */
export async function buildRing(
  spec: RingService,
  reals: readonly RingReal[],
): Promise<{ bytes: Buffer; length: number }> {
  const sched = abi.SCHED[spec.scheduler as abi.XdpScheduler];
  if (sched === undefined) {
    throw new Error(`buildRing: scheduler ${spec.scheduler} has no XDP code`);
  }
  const weighted = reals.map((r) => ({ id: r.id, weight: r.spec.weight }));
  let entries: Uint32Array;
  let length: number;
  if (spec.scheduler === 'rr' || spec.scheduler === 'wrr') {
    const seq =
      spec.scheduler === 'rr' ? rrSequence(weighted) : wrrSequence(weighted, abi.RING_SIZE);
    entries = Uint32Array.from(seq);
    length = seq.length;
  } else {
    entries = await maglevTableOffLoop(
      reals.map((r) => ({
        id: r.id,
        key: `${r.spec.address}|${r.spec.port}`,
        weight: r.spec.weight,
      })),
      abi.RING_SIZE,
    );
    length = weighted.some((r) => r.weight > 0) ? abi.RING_SIZE : 0;
  }
  const bytes = Buffer.alloc(abi.RING_BYTES);
  abi.ringParams
    .encode({
      ring_len: length,
      sched,
      flags:
        (spec.persistence ? abi.SVC_F_PERSISTENT : 0) |
        (spec.hashSourcePort ? abi.SVC_F_HASH_PORT : 0),
      persist_prefix: persistPrefix(spec),
      persist_timeout_s: spec.persistence?.timeoutS ?? 0,
    })
    .copy(bytes, 0);
  // One copy of the entries in host byte order, which is what the program reads.
  Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength).copy(
    bytes,
    abi.ringParams.size,
  );
  return { bytes, length };
}

function persistPrefix(spec: Pick<ServiceSpec, 'vip' | 'persistence'>): number {
  if (spec.persistence === undefined) return 0;
  const family = abi.familyOf(spec.vip, `VIP ${spec.vip}`);
  return spec.persistence.prefixLength ?? (family === 'ipv4' ? 32 : 128);
}
