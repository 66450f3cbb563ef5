/**
 * VRRP on a thread of its own, as keepalived runs it in a process of its own.
 * The main thread applies configurations, runs health checks and serves
 * status and metrics; none of that (nor its garbage collections) delays an
 * advert timer. The engine and everything it touches (raw sockets, netlink,
 * gratuitous ARP, notify scripts, SMTP) stay inside the thread; what crosses
 * is the configuration's VRRP part at start and reload, the data plane's
 * health in, state changes out, and status, metrics and dumps on request.
 * The thread's scheduling settings (vrrp_priority, vrrp_rt_priority...)
 * apply to the thread itself, as keepalived's do to its VRRP process.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/model.js';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SchedulingReading } from '../metrics/scheduling-collectors.js';
import type { Service } from '../service.js';
import type { VrrpInstanceStatus } from '../status/status-report.js';
import type { VrrpEngineView } from '../vrrp/engine-view.js';
import type { VrrpState } from '../vrrp/state.js';
import type { Reloadable } from './reload.js';
import type { VrrpRunner } from './vrrp-runner.js';
import { type DataPlaneHealthSource, VrrpService } from './vrrp-service.js';
import {
  errorFromThread,
  type FromThread,
  type InstanceState,
  type LoopDelayReading,
  type ThreadAnswers,
  type ThreadLogOptions,
  type ThreadRequest,
  type ThreadServiceName,
  type ToThread,
  type VrrpThreadData,
  vrrpPart,
} from './vrrp-thread-protocol.js';

const WORKER_URL = new URL('./vrrp-thread-worker.js', import.meta.url);

/**
 * How long the thread has to answer: a status or metrics read at once; a
 * start, reload step or close past its slowest part (close waits for notify
 * scripts, which keepalived bounds at 30 s). A thread that does not answer in
 * time is treated as stopped.
 */
const QUERY_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 60_000;
const STEPS: ReadonlySet<ThreadRequest['op']> = new Set(['start', 'plan', 'apply', 'close']);

export interface VrrpThreadOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** How the thread logs: the daemon's level and format, resolved (see resolveLoggerOptions). */
  readonly log: ThreadLogOptions;
  /**
   * The thread stopped on its own (an uncaught error) or stopped answering:
   * VRRP no longer runs, so the daemon must stop (its instances read FAULT
   * meanwhile, and close removes the VIPs the thread held).
   */
  readonly onFailure: (err: LbctlError) => void;
}

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

export class VrrpThread implements VrrpRunner {
  readonly name = 'vrrp';
  /** The thread's scheduling, a service of its own: it starts last and closes first. */
  readonly scheduling: Service & Reloadable & { reading(): Promise<SchedulingReading | undefined> };
  private readonly logger: Logger;
  private config: Config;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly states = new Map<string, VrrpState>();
  private readonly stateListeners = new Set<(instance: string, state: VrrpState) => void>();
  private dataPlaneSource: DataPlaneHealthSource | undefined;
  private unfollowDataPlane: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** Started: from then on the thread stopping on its own stops the daemon. */
  private running = false;
  /** Why the thread stopped on its own, once it has. */
  private failure: LbctlError | undefined;
  private viewRequest: Promise<VrrpEngineView | undefined> | undefined;

  constructor(private readonly options: VrrpThreadOptions) {
    this.logger = options.logger.child({ service: 'vrrp' });
    this.config = options.config;
    this.scheduling = this.threadService('scheduling');
  }

  trackDataPlane(source: DataPlaneHealthSource): void {
    this.dataPlaneSource = source;
  }

  state(instance: string): VrrpState | undefined {
    return this.states.get(instance);
  }

  onChange(listener: (instance: string, state: VrrpState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  async start(): Promise<void> {
    const data: VrrpThreadData = {
      config: vrrpPart(this.config),
      log: this.options.log,
      followsDataPlane: this.dataPlaneSource !== undefined,
    };
    const worker = new Worker(WORKER_URL, { workerData: data });
    this.worker = worker;
    worker.on('message', (message: FromThread) => this.receive(message));
    worker.on('error', (err) => this.stopped(`failed: ${err.message}`, err));
    worker.on('exit', (code) => this.stopped(`exited (${code})`));
    this.unfollowDataPlane = this.dataPlaneSource?.onDataPlaneHealth((health) =>
      this.send({ kind: 'health', health }),
    );
    try {
      this.setStates((await this.request({ op: 'start', service: 'vrrp' })).states);
      this.running = true;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async planReload(next: Config): Promise<{ summary: string; apply: () => Promise<void> }> {
    return this.planIn('vrrp', next);
  }

  instanceStatus(): Promise<VrrpInstanceStatus[]> {
    if (this.worker === undefined) return Promise.resolve([]);
    return this.request({ op: 'status' }).then((status) => [...status]);
  }

  /** One request serves every reader waiting at once (a scrape's collectors all ask together). */
  engineView(): Promise<VrrpEngineView | undefined> {
    if (this.worker === undefined) return Promise.resolve(undefined);
    this.viewRequest ??= this.request({ op: 'view' }).finally(() => {
      this.viewRequest = undefined;
    });
    return this.viewRequest;
  }

  /**
   * The thread's event loop delay since the last reading (benchmarks); the
   * first reading starts the watch (a 1 ms timer: not run unless asked).
   */
  loopDelay(): Promise<LoopDelayReading> {
    return this.request({ op: 'loopDelay' });
  }

  /**
   * Masters send priority 0 and release their VIPs in the thread, which then
   * ends. If the thread had stopped on its own, the VIPs and virtual routes
   * it may have held are removed from here.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unfollowDataPlane?.();
      this.unfollowDataPlane = undefined;
      const worker = this.worker;
      try {
        if (worker !== undefined) await this.request({ op: 'close', service: 'vrrp' });
      } finally {
        await worker?.terminate();
        this.worker = undefined;
        if (this.failure !== undefined)
          await VrrpService.releaseAddresses(this.config, this.logger);
      }
    })();
    return this.closing;
  }

  private threadService(
    service: ThreadServiceName,
  ): Service & Reloadable & { reading(): Promise<SchedulingReading | undefined> } {
    return {
      name: service,
      start: async () => {
        await this.request({ op: 'start', service });
      },
      close: async () => {
        if (this.worker !== undefined && this.closing === undefined)
          await this.request({ op: 'close', service });
      },
      planReload: (next) => this.planIn(service, next),
      reading: () =>
        this.worker === undefined || this.closing !== undefined
          ? Promise.resolve(undefined)
          : this.request({ op: 'scheduling' }),
    };
  }

  /**
   * Plans in the thread; the plan's apply runs there too. After a VRRP
   * apply, failed or not, the mirror takes the instances the thread now runs.
   */
  private async planIn(
    service: ThreadServiceName,
    next: Config,
  ): Promise<{ summary: string; apply: () => Promise<void> }> {
    const { summary } = await this.request({ op: 'plan', service, config: vrrpPart(next) });
    return {
      summary,
      apply: async () => {
        try {
          await this.request({ op: 'apply', service });
          if (service === 'vrrp') this.config = next;
        } finally {
          if (service === 'vrrp' && this.worker !== undefined)
            this.setStates(await this.request({ op: 'states' }));
        }
      },
    };
  }

  private request<R extends ThreadRequest>(request: R): Promise<ThreadAnswers[R['op']]> {
    if (this.worker === undefined)
      return Promise.reject(
        this.failure ?? new LbctlError('VRRP_THREAD_STOPPED', 'the VRRP thread is not running'),
      );
    const id = this.nextId++;
    const timeoutMs = STEPS.has(request.op) ? STEP_TIMEOUT_MS : QUERY_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.stopped(`did not answer ${request.op} within ${timeoutMs / 1000} s`),
        timeoutMs,
      );
      const settle = () => {
        clearTimeout(timer);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        resolve: (value) => {
          settle();
          resolve(value as ThreadAnswers[R['op']]);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      });
      this.send({ kind: 'request', id, request });
    });
  }

  private send(message: ToThread): void {
    this.worker?.postMessage(message);
  }

  private receive(message: FromThread): void {
    if (message.kind === 'change') {
      this.publish(message.instance, message.to);
      return;
    }
    const pending = this.pending.get(message.id);
    if (message.kind === 'answer') pending?.resolve(message.value);
    else pending?.reject(errorFromThread(message.error));
  }

  private publish(instance: string, state: VrrpState): void {
    this.states.set(instance, state);
    for (const listener of this.stateListeners) {
      try {
        listener(instance, state);
      } catch (err) {
        // A follower's failure must not disturb the others.
        this.logger.error({ err, instance }, 'state listener failed');
      }
    }
  }

  /** The instances the thread runs now (after start and each reload). */
  private setStates(states: readonly InstanceState[]): void {
    this.states.clear();
    for (const [instance, state] of states) this.states.set(instance, state);
  }

  /**
   * The thread ended or stopped answering: expected after close; otherwise
   * VRRP is gone: its instances read FAULT to their followers (BGP
   * withdraws, connection sync stops sending) and the daemon must stop.
   */
  private stopped(what: string, cause?: Error): void {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const err = new LbctlError('VRRP_THREAD_STOPPED', `the VRRP thread ${what}`, { cause });
    for (const pending of [...this.pending.values()]) pending.reject(err);
    // A thread that stopped answering may still run: end it.
    void worker.terminate();
    if (this.closing !== undefined || !this.running) return;
    this.failure = err;
    this.logger.fatal({ err }, `${err.message}: VRRP no longer runs, stopping`);
    for (const instance of [...this.states.keys()]) this.publish(instance, 'FAULT');
    this.options.onFailure(err);
  }
}
