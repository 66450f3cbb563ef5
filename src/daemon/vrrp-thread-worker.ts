/**
 * The VRRP thread (see vrrp-thread.ts): runs the VRRP engine and the
 * scheduling of its own thread (vrrp_priority, vrrp_rt_priority...), as
 * keepalived's VRRP process does, and answers the main thread's requests.
 */

import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { DataPlaneHealth } from '../dataplane/supervisor.js';
import { callEach } from '../listeners.js';
import { createLogger } from '../log.js';
import { native } from '../native/addon.js';
import type { Service } from '../service.js';
import { systemClock } from '../time/clock.js';
import { copyEngineView } from '../vrrp/engine-view.js';
import type { Reloadable } from './reload.js';
import { SchedulingService } from './scheduling-service.js';
import { type DataPlaneHealthSource, VrrpService } from './vrrp-service.js';
import {
  errorToThread,
  type FromThread,
  type InstanceState,
  type ThreadAnswers,
  type ThreadRequest,
  type ThreadServiceName,
  type ToThread,
  VRRP_THREAD_NAME,
  type VrrpThreadData,
} from './vrrp-thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('vrrp-thread-worker.js runs only as a worker thread');
const data = workerData as VrrpThreadData;
const logger = createLogger(data.log);
// Named once the logger (and a pretty-printing transport's thread, which
// would inherit the name) exists: as `ps -L`, `top -H` and
// /proc/PID/task/*/comm show it (chrt -p, taskset -p take its TID).
native().setThreadName(VRRP_THREAD_NAME);
const post = (message: FromThread) => port.postMessage(message);

/** Data-plane health as the main thread forwards it; a new follower hears the latest at once. */
class ForwardedHealth implements DataPlaneHealthSource {
  private latest: DataPlaneHealth | undefined;
  private readonly listeners = new Set<(health: DataPlaneHealth) => void>();

  onDataPlaneHealth(listener: (health: DataPlaneHealth) => void): () => void {
    this.listeners.add(listener);
    if (this.latest !== undefined) listener(this.latest);
    return () => this.listeners.delete(listener);
  }

  publish(health: DataPlaneHealth): void {
    this.latest = health;
    callEach(this.listeners, [health], (err) =>
      logger.error({ err }, 'data-plane health listener failed'),
    );
  }
}

const health = new ForwardedHealth();
const vrrp = new VrrpService({ config: data.config, logger, clock: systemClock });
if (data.followsDataPlane) vrrp.trackDataPlane(health);
vrrp.onChange((instance, to) => post({ kind: 'change', instance, to }));
const scheduling = new SchedulingService(data.config.global.scheduling, logger);
const services: Record<ThreadServiceName, Service & Reloadable> = { vrrp, scheduling };
/** The plan of the reload in progress, per service (reloads run one at a time). */
const plans = new Map<ThreadServiceName, () => Promise<void>>();
/** How late this thread's timers ran: watched only once a bench asks (a 1 ms timer). */
let loopDelay: IntervalHistogram | undefined;

const states = (): InstanceState[] =>
  (vrrp.engine?.instances ?? []).map((i) => [i.name, i.state] as const);

/** The answer to one request, of the type ThreadAnswers names for its op. */
async function answer(request: ThreadRequest): Promise<unknown> {
  switch (request.op) {
    case 'start':
      await services[request.service].start();
      return { states: states() } satisfies ThreadAnswers['start'];
    case 'close':
      plans.delete(request.service);
      await services[request.service].close();
      loopDelay?.disable();
      // Lines a pretty-printing transport still holds, before the thread is ended.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      return null satisfies ThreadAnswers['close'];
    case 'plan': {
      const plan = await services[request.service].planReload(request.config);
      plans.set(request.service, plan.apply);
      return { summary: plan.summary } satisfies ThreadAnswers['plan'];
    }
    case 'apply': {
      const apply = plans.get(request.service);
      plans.delete(request.service);
      if (apply === undefined) throw new Error(`no reload planned for ${request.service}`);
      await apply();
      return null satisfies ThreadAnswers['apply'];
    }
    case 'states':
      return states() satisfies ThreadAnswers['states'];
    case 'status':
      return (await vrrp.instanceStatus()) satisfies ThreadAnswers['status'];
    case 'view': {
      const engine = vrrp.engine;
      return (
        engine === undefined ? undefined : copyEngineView(engine)
      ) satisfies ThreadAnswers['view'];
    }
    case 'scheduling':
      return scheduling.reading() satisfies ThreadAnswers['scheduling'];
    case 'ping':
      return null satisfies ThreadAnswers['ping'];
    case 'loopDelay': {
      const watch = loopDelay;
      if (watch === undefined) {
        loopDelay = monitorEventLoopDelay({ resolution: 1 });
        loopDelay.enable();
        return { maxMs: 0, p99Ms: 0 } satisfies ThreadAnswers['loopDelay'];
      }
      const reading = { maxMs: watch.max / 1e6, p99Ms: watch.percentile(99) / 1e6 };
      watch.reset();
      return reading satisfies ThreadAnswers['loopDelay'];
    }
  }
}

port.on('message', (message: ToThread) => {
  if (message.kind === 'health') {
    health.publish(message.health);
    return;
  }
  const { id, request } = message;
  answer(request)
    .then((value) => post({ kind: 'answer', id, value }))
    // A failed request, or an answer that could not be sent: the main thread hears why.
    .catch((err: unknown) => post({ kind: 'failed', id, error: errorToThread(err) }));
});
