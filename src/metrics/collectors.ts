import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { lbctlVersion } from '../version.js';
import { dataPlaneFamilies } from './dataplane-families.js';
import { healthFamilies } from './health-families.js';
import type { MetricFamily } from './metric-family.js';
import { registerSchedulingCollectors } from './scheduling-collectors.js';
import type { Scrape } from './scrape.js';
import type { MetricsSources } from './sources.js';
import { registerSupervisionCollectors } from './supervision-collectors.js';
import { registerSyncCollectors } from './sync-collectors.js';
import { registerVrrpCollectors } from './vrrp-collectors.js';

export type { MetricsSources, VirtualServerState } from './sources.js';

/**
 * prom-client's default gauges whose names end in _total, which Prometheus
 * keeps for counters (promtool check metrics refuses them); their per-type
 * versions (nodejs_active_handles{type}, ...) stay and sum to the same.
 */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Registers lbctl's metrics. Values are read when Prometheus scrapes, from
 * the live VRRP engine, health state and data-plane counters, so nothing is
 * updated on a hot path. Process and Node.js metrics are prom-client's
 * defaults.
 */
export function registerCollectors(registry: Registry, sources: MetricsSources): void {
  const registers = [registry];

  new Gauge({
    name: 'lbctl_build_info',
    help: 'Always 1; labels carry the lbctl version and the Node.js version running it',
    labelNames: ['version', 'nodejs_version'],
    registers,
  }).set({ version: lbctlVersion(), nodejs_version: process.versions.node }, 1);

  registerVrrpCollectors(registers, () => sources.vrrp());
  registerSupervisionCollectors(registers, () => sources.dataPlaneSupervision?.());
  registerSyncCollectors(registers, () => sources.connectionSync?.());
  registerSchedulingCollectors(registers, () => sources.scheduling?.());

  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
}

/**
 * The families with a series per service, real or check, which lbctl formats
 * itself in slices of the event loop (metric-family.ts); served after the
 * registry's metrics.
 */
export const SERIES_FAMILIES: readonly MetricFamily<Scrape>[] = [
  ...healthFamilies,
  ...dataPlaneFamilies,
];
