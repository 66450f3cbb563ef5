import type { Scheduler } from './model.js';

/**
 * Schedulers the XDP data plane implements. The others (connection-count and
 * locality based ones) need kernel IPVS; with `dataPlane: auto` such services
 * make lbctl fall back to IPVS, with `dataPlane: xdp` they are rejected.
 */
export const XDP_SCHEDULERS: ReadonlySet<Scheduler> = new Set<Scheduler>([
  'rr',
  'wrr',
  'sh',
  'dh',
  'mh',
]);
