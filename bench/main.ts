import { configParseLarge } from './config-parse-large.js';
import { connTableFill } from './conn-table-fill.js';
import { counterBench } from './counter.js';
import { countersLarge } from './counters-large.js';
import { dataplaneBench } from './dataplane.js';
import { e2eBench } from './e2e.js';
import { ecmpDirectorLoss } from './ecmp-director-loss.js';
import { failoverKeptConnections } from './failover-kept-connections.js';
import { healthcheckDarkRack } from './healthcheck-dark-rack.js';
import { healthcheckScale } from './healthcheck-scale.js';
import { metricsScrapeLarge } from './metrics-scrape-large.js';
import { reconcileLarge } from './reconcile-large.js';
import { reloadLarge } from './reload-large.js';
import type { Bench, BenchResult } from './result.js';
import { statusConnections } from './status-connections.js';
import { statusLarge } from './status-large.js';
import { verifierBench } from './verifier.js';
import { vrrpFailover } from './vrrp-failover.js';
import { xdpVsIpvsBench } from './xdp-vs-ipvs.js';

/** Every benchmark, in the order they run. */
const benches: Record<string, Bench> = {
  counter: counterBench,
  dataplane: dataplaneBench,
  e2e: e2eBench,
  e2e_xdp_vs_ipvs: xdpVsIpvsBench,
  config_parse_large: configParseLarge,
  conn_table_fill: connTableFill,
  healthcheck_scale: healthcheckScale,
  healthcheck_dark_rack: healthcheckDarkRack,
  reconcile_large: reconcileLarge,
  counters_large: countersLarge,
  reload_large: reloadLarge,
  status_connections: statusConnections,
  metrics_scrape_large: metricsScrapeLarge,
  status_large: statusLarge,
  vrrp_failover: vrrpFailover,
  ecmp_director_loss: ecmpDirectorLoss,
  failover_kept_connections: failoverKeptConnections,
  verifier: verifierBench,
};

function printTable(results: readonly BenchResult[]): void {
  for (const r of results) {
    const metrics = Object.entries(r)
      .filter(([k, v]) => k !== 'name' && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toFixed(3)) : v}`)
      .join('  ');
    process.stdout.write(`${r.name.padEnd(24)} ${metrics}\n`);
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const json = argv.includes('--json');
  const only = argv.filter((a) => !a.startsWith('--'));
  const results: BenchResult[] = [];
  for (const [name, bench] of Object.entries(benches)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const out = await bench();
    results.push(...(Array.isArray(out) ? out : [out]));
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ results }, null, 2)}\n`);
  } else {
    printTable(results);
  }
}

await main(process.argv.slice(2));
