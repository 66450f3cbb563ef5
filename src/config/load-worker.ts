/**
 * The worker thread of loadConfigOffThread: loads one configuration and
 * sends it back in one message, the virtual servers serialized in pieces
 * the main thread takes in one at a time (see load-off-thread.ts).
 */
import { serialize } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import type { LoadJob, WorkerMessage } from './load-off-thread.js';

/** Real servers per piece: decoding and freezing one takes the main thread well under a millisecond. */
const REALS_PER_PIECE = 256;

const port = parentPort;
if (port === null) throw new Error('load-worker.js runs only as a worker thread');
const job = workerData as LoadJob;

try {
  const { config, warnings, format } = loadConfig(job.path, job.options);
  const { virtualServers, ...head } = config;
  const pieces: ArrayBuffer[] = [];
  for (let next = 0; next < virtualServers.length; ) {
    const items = [];
    let reals = 0;
    while (next < virtualServers.length && (items.length === 0 || reals < REALS_PER_PIECE)) {
      const vs = virtualServers[next++] as (typeof virtualServers)[number];
      items.push(vs);
      reals += vs.realServers.length + 1;
    }
    const bytes = serialize(items);
    // Moved rather than copied: a buffer of its own (v8.serialize's always is).
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    pieces.push((own ? bytes : Uint8Array.prototype.slice.call(bytes)).buffer as ArrayBuffer);
  }
  const message: WorkerMessage = { kind: 'loaded', head, warnings, format, pieces };
  port.postMessage(message, pieces);
} catch (err) {
  const message: WorkerMessage =
    err instanceof ConfigError
      ? { kind: 'refused', issues: err.issues }
      : { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
  port.postMessage(message);
}
