import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { snapshotCounter } from '../../src/metrics/snapshot-counter.js';

test('a snapshot counter shows the component count at each scrape, 0 while it is gone', async () => {
  const registry = new Registry();
  let source: { checks: number } | undefined = { checks: 3 };
  snapshotCounter(
    [registry],
    () => source,
    'x_checks_total',
    'checks',
    (s) => s.checks,
  );
  assert.match(await registry.metrics(), /^x_checks_total 3$/m);
  source = { checks: 7 };
  assert.match(await registry.metrics(), /^x_checks_total 7$/m);
  source = undefined;
  assert.match(await registry.metrics(), /^x_checks_total 0$/m);
});
