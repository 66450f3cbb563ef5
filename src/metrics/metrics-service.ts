import { createServer, type Server } from 'node:http';
import { Registry } from 'prom-client';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Service } from '../service.js';
import { registerCollectors, SERIES_FAMILIES } from './collectors.js';
import { ScrapeAbandoned, writeExposition } from './exposition.js';
import { Scrape } from './scrape.js';
import type { MetricsSources } from './sources.js';

/** "127.0.0.1:9477" or "[::1]:9477" → host and port. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 0 && port < 65536)) {
    throw new LbctlError(
      'INVALID_LISTEN',
      `Cannot serve metrics on '${listen}': expected host:port`,
    );
  }
  return { host, port };
}

/** Serves Prometheus metrics at http://<metricsListen>/metrics. */
export class MetricsService implements Service {
  readonly name = 'metrics';
  readonly registry = new Registry();
  private server: Server | undefined;
  private boundPort: number | undefined;

  constructor(
    private readonly listen: string,
    private readonly sources: MetricsSources,
    private readonly logger: Logger,
  ) {
    registerCollectors(this.registry, sources);
  }

  /** The port actually bound (useful with port 0). */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const { host, port } = parseListen(this.listen);
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('lbctl serves /metrics\n');
        return;
      }
      res.setHeader('content-type', this.registry.contentType);
      writeExposition(res, this.registry, SERIES_FAMILIES, new Scrape(this.sources)).catch(
        (err: unknown) => {
          if (err instanceof ScrapeAbandoned) return;
          this.logger.error({ err }, 'Cannot collect metrics');
          // Once the body has begun, cut it short: the scrape fails rather than
          // passing with series missing.
          if (res.headersSent) res.destroy();
          else res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot collect metrics\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new LbctlError(
            'METRICS_LISTEN',
            `Cannot serve metrics on ${this.listen}: ${err.message}`,
          ),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : port;
    this.server = server;
    this.logger.info({ listen: this.listen }, `metrics at http://${this.listen}/metrics`);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
