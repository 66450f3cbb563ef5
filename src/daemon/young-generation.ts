import { getHeapSpaceStatistics } from 'node:v8';

/**
 * The node flags lbctl's launcher (bin/lbctl) and `npm run bench` start with:
 * V8's young generation stays at 1 MiB per semi-space instead of growing to
 * 16 MiB under a large apply. A scavenge copies what survives in the young
 * generation and holds the event loop meanwhile (waiting for its helper
 * threads too, which on a busy two-core machine may wait for a core): small,
 * it takes ~0.5 ms instead of 2–10 ms inside a turn of the loop VRRP's timers
 * share, for 3–15 % more main-thread CPU in a large apply
 * (docs/virtual-servers.md, "Scavenges and the pass's start"). Only a flag
 * given at start sizes the heap: `v8.setFlagsFromString` of the size does
 * nothing later, and of the growth factor is undone by any Worker's start.
 */
export const YOUNG_GENERATION_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** The young generation's size now, in MiB (both semi-spaces): 2 when the flags are in force. */
export function youngGenerationMb(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return (space?.space_size ?? 0) / 2 ** 20;
}
