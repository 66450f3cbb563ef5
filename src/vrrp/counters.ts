import { DROP_REASONS, type DropReason } from './receive-check.js';
import type { StateChange, TransitionCause, VrrpState } from './state.js';

/** How often the instance moved from one state to another, for one cause. */
export interface TransitionCount {
  readonly from: VrrpState;
  readonly to: VrrpState;
  readonly cause: TransitionCause;
  count: number;
}

/** Per-instance statistics, in the spirit of keepalived's vrrp stats. */
export interface VrrpCounters {
  advertsReceived: number;
  advertsSent: number;
  priorityZeroReceived: number;
  priorityZeroSent: number;
  becameMaster: number;
  releasedMaster: number;
  dropped: Record<DropReason, number>;
  /** Keyed "from to cause"; a handful of entries at most. */
  transitions: Map<string, TransitionCount>;
  /** Wall-clock time (ms since the epoch) of the latest state change. */
  lastTransitionAtMs?: number;
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
    transitions: new Map(),
  };
}

export function countTransition(counters: VrrpCounters, change: StateChange): void {
  const key = `${change.from} ${change.to} ${change.cause}`;
  const entry = counters.transitions.get(key);
  if (entry === undefined) {
    counters.transitions.set(key, {
      from: change.from,
      to: change.to,
      cause: change.cause,
      count: 1,
    });
  } else entry.count++;
  counters.lastTransitionAtMs = Date.now();
}
