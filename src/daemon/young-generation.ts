import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation at the size it starts with (1 MiB per
 * semi-space on 64-bit) instead of letting it grow to 16 MiB under a large
 * apply. A scavenge copies what survives in the young generation and holds
 * the event loop while it does (its helper threads too, which on a busy
 * two-core machine may wait for a core): with a small one, scavenges take
 * ~0.5 ms instead of 2–10 ms inside one turn of the loop VRRP's timers share,
 * for ~10 % more main-thread CPU in a large apply (docs/virtual-servers.md,
 * "Scavenges and the pass's start"). `--max-semi-space-size` has no effect
 * once the heap exists; the growth factor is read each time the young
 * generation would grow, so setting it at run time works. Call it first
 * thing: a young generation that already grew keeps its size.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** The young generation's size now, in MiB (both semi-spaces), for benchmarks to report. */
export function youngGenerationMb(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return (space?.space_size ?? 0) / 2 ** 20;
}
