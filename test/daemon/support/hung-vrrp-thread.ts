/**
 * A VRRP thread that starts, answers a few requests, then stops turning its
 * loop (as a thread stuck in a long computation or a blocking call would):
 * what the main thread's heartbeat must notice.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type {
  FromThread,
  ToThread,
  VrrpThreadData,
} from '../../../src/daemon/vrrp-thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('a worker thread only');
const { config } = workerData as VrrpThreadData;
const post = (message: FromThread) => port.postMessage(message);
port.on('message', (message: ToThread) => {
  if (message.kind !== 'request') return;
  const { id, request } = message;
  if (request.op === 'start') {
    const states = config.vrrpInstances.map((i) => [i.name, 'MASTER'] as const);
    post({ kind: 'answer', id, value: { states } });
  } else if (request.op === 'status') {
    // Held until the end of time: the loop never turns again.
    for (;;) {
      // stuck
    }
  } else {
    post({ kind: 'answer', id, value: null });
  }
});
