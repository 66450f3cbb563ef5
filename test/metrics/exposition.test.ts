import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { ScrapeAbandoned, writeExposition } from '../../src/metrics/exposition.js';
import { labelText, type MetricFamily } from '../../src/metrics/metric-family.js';

/** A server answering every request with writeExposition over `families`; `ended` gets each outcome. */
async function serve(
  registry: Registry,
  families: readonly MetricFamily<null>[],
  ended: (err: unknown) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    writeExposition(res, registry, families, null).then(() => ended(undefined), ended);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** A family of `count` gauges, with a turn offered after every 100. */
function many(name: string, count: number, seen?: { collected: boolean }): MetricFamily<null> {
  return {
    name,
    help: `${count} series`,
    type: 'gauge',
    async collect(_scrape, out) {
      if (seen !== undefined) seen.collected = true;
      for (let i = 0; i < count; i++) {
        out.series(`n="${i}"`, i);
        if (i % 100 === 99) await out.maybeYield();
      }
    },
  };
}

describe('metrics exposition', () => {
  it('writes the registry, then each family whole, in the text format, escaped', async () => {
    const registry = new Registry();
    new Gauge({ name: 'small', help: 'from prom-client', registers: [registry] }).set(3);
    const odd: MetricFamily<null> = {
      name: 'odd_labels',
      help: 'a help with \\ and\na newline',
      type: 'counter',
      async collect(_scrape, out) {
        out.series(labelText({ path: 'C:\\x', quote: 'say "hi"', line: 'a\nb' }), 1.5);
        out.series('', Number.POSITIVE_INFINITY);
        out.series('k="v"', Number.NaN);
      },
    };
    let outcome: unknown = 'pending';
    const { server, port } = await serve(registry, [odd, many('big', 5000)], (e) => {
      outcome = e;
    });
    try {
      const text = await fetchText(port);
      assert.equal(outcome, undefined);
      const lines = text.split('\n');
      assert.ok(lines.includes('small 3'));
      const help = lines.indexOf('# HELP odd_labels a help with \\\\ and\\na newline');
      assert.ok(help > lines.indexOf('small 3'));
      assert.deepEqual(lines.slice(help + 1, help + 5), [
        '# TYPE odd_labels counter',
        'odd_labels{path="C:\\\\x",quote="say \\"hi\\"",line="a\\nb"} 1.5',
        'odd_labels +Inf',
        'odd_labels{k="v"} Nan',
      ]);
      // The big family's series follow its header, contiguous and in order.
      const big = lines.indexOf('# TYPE big gauge');
      assert.equal(lines[big - 1], '# HELP big 5000 series');
      for (const i of [0, 1, 2500, 4999]) assert.equal(lines[big + 1 + i], `big{n="${i}"} ${i}`);
      assert.equal(lines.filter((l) => l.startsWith('big{')).length, 5000);
      assert.equal(text.endsWith('\n'), true);
    } finally {
      server.close();
    }
  });

  it('gives the event loop turns during a large family', async () => {
    const registry = new Registry();
    const { server, port } = await serve(registry, [many('large', 300_000)], () => undefined);
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks++;
    }, 1);
    try {
      const text = await fetchText(port);
      assert.equal(text.split('\n').filter((l) => l.startsWith('large{')).length, 300_000);
      // Unsliced, the 300,000 series would be formatted in one turn and no timer
      // would run before the body is complete; sliced, timers run in between.
      assert.ok(ticks >= 2, `${ticks} timer ticks during the scrape`);
    } finally {
      clearInterval(ticker);
      server.close();
    }
  });

  it('stops when the client goes away, without collecting the remaining families', async () => {
    const registry = new Registry();
    const later = { collected: false };
    let outcome: unknown = 'pending';
    let settled: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      settled = resolve;
    });
    const { server, port } = await serve(
      registry,
      [many('first', 2_000_000), many('second', 10, later)],
      (e) => {
        outcome = e;
        settled();
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        const req = get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.on('close', resolve);
        setTimeout(() => reject(new Error('no data')), 30_000).unref();
      });
      await done;
      assert.ok(outcome instanceof ScrapeAbandoned, String(outcome));
      assert.equal(later.collected, false);
    } finally {
      server.close();
    }
  });
});
