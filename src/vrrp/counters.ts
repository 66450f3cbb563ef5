import { DROP_REASONS, type DropReason } from './receive-check.js';

/** Per-instance statistics, in the spirit of keepalived's vrrp stats. */
export interface VrrpCounters {
  advertsReceived: number;
  advertsSent: number;
  priorityZeroReceived: number;
  priorityZeroSent: number;
  becameMaster: number;
  releasedMaster: number;
  dropped: Record<DropReason, number>;
}

export function emptyCounters(): VrrpCounters {
  const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  return {
    advertsReceived: 0,
    advertsSent: 0,
    priorityZeroReceived: 0,
    priorityZeroSent: 0,
    becameMaster: 0,
    releasedMaster: 0,
    dropped,
  };
}
