/**
 * The worker thread of loadConfigOffThread: loads one configuration and
 * sends it back, the virtual servers in pieces the main thread asks for one
 * at a time (see load-off-thread.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import type { LoadJob, WorkerMessage } from './load-off-thread.js';

/** Real servers per piece: decoding and freezing one piece takes the main thread ~1-2 ms. */
const REALS_PER_PIECE = 256;

const port = parentPort;
if (port === null) throw new Error('load-worker.js runs only as a worker thread');
const send = (message: WorkerMessage) => port.postMessage(message);
const job = workerData as LoadJob;

try {
  const { config, warnings, format } = loadConfig(job.path, job.options);
  const { virtualServers, ...head } = config;
  let next = 0;
  const sendPiece = () => {
    const items = [];
    let reals = 0;
    while (next < virtualServers.length && (items.length === 0 || reals < REALS_PER_PIECE)) {
      const vs = virtualServers[next++] as (typeof virtualServers)[number];
      items.push(vs);
      reals += vs.realServers.length + 1;
    }
    send({ kind: 'virtualServers', items });
  };
  port.on('message', sendPiece);
  send({ kind: 'loaded', head, virtualServers: virtualServers.length, warnings, format });
} catch (err) {
  if (err instanceof ConfigError) send({ kind: 'refused', issues: err.issues });
  else send({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
}
