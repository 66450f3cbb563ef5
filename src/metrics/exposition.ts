import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { LoopSlicer } from '../time/loop-slice.js';
import { escapeHelp, type FamilyWriter, formatValue, type MetricFamily } from './metric-family.js';

/** The client went away mid-scrape: nothing to answer, nothing to log. */
export class ScrapeAbandoned extends Error {
  constructor() {
    super('the client closed the connection during the scrape');
  }
}

/**
 * Streams one scrape: prom-client's registry (process, VRRP and the other
 * small metrics) first, then each family, written to `res` at the end of
 * every slice so neither the loop nor memory holds the whole body. Stops
 * early (ScrapeAbandoned) when the client goes away.
 */
export async function writeExposition<Scrape>(
  res: ServerResponse,
  registry: Registry,
  families: readonly MetricFamily<Scrape>[],
  scrape: Scrape,
): Promise<void> {
  const slicer = new LoopSlicer();
  let pending: string[] = [];
  let name = '';
  const flush = async () => {
    if (res.destroyed) throw new ScrapeAbandoned();
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    if (!res.write(text)) await drained(res);
  };
  const out: FamilyWriter = {
    series(labels, value) {
      pending.push(
        labels === ''
          ? `${name} ${formatValue(value)}\n`
          : `${name}{${labels}} ${formatValue(value)}\n`,
      );
    },
    async maybeYield() {
      if (!slicer.used()) return;
      await flush();
      await slicer.nextSlice();
    },
  };
  pending.push(await registry.metrics());
  for (const family of families) {
    name = family.name;
    pending.push(`# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`);
    await family.collect(scrape, out);
    await out.maybeYield();
  }
  await flush();
  res.end();
}

/** Until `res` can take more, or is closed (a client gone never drains). */
async function drained(res: ServerResponse): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      once(res, 'drain', { signal: done.signal }),
      once(res, 'close', { signal: done.signal }),
    ]);
  } finally {
    done.abort();
  }
}
