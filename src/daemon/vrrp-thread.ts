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
import type { Logger, LoggerOptions } from '../log.js';
import type { SchedulingReading } from '../metrics/scheduling-collectors.js';
import type { Service } from '../service.js';
import type { VrrpInstanceStatus } from '../status/status-report.js';
import type { VrrpEngineView } from '../vrrp/engine-view.js';
import type { VrrpState } from '../vrrp/state.js';
import type { Reloadable } from './reload.js';
import type { VrrpRunner } from './vrrp-runner.js';
import type { DataPlaneHealthSource } from './vrrp-service.js';
import {
  errorFromThread,
  type FromThread,
  type InstanceState,
  type LoopDelayReading,
  type ThreadAnswers,
  type ThreadRequest,
  type ThreadServiceName,
  type ToThread,
  type VrrpThreadData,
  vrrpPart,
} from './vrrp-thread-protocol.js';

const WORKER_URL = new URL('./vrrp-thread-worker.js', import.meta.url);

export interface VrrpThreadOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** How the thread logs (the same as the daemon's logger). */
  readonly log: Omit<LoggerOptions, 'destination'>;
  /**
   * The thread stopped on its own (an uncaught error): VRRP no longer runs,
   * so the daemon must stop and be restarted (its start removes the VIPs the
   * thread left, as after a crash).
   */
  readonly onFailure: (err: Error) => void;
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
  private closing = false;
  /** Started: from then on the thread stopping on its own stops the daemon. */
  private running = false;
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
    const data: VrrpThreadData & { followsDataPlane: boolean } = {
      config: vrrpPart(this.config),
      log: this.options.log,
      followsDataPlane: this.dataPlaneSource !== undefined,
    };
    const worker = new Worker(WORKER_URL, { workerData: data });
    this.worker = worker;
    worker.on('message', (message: FromThread) => this.receive(message));
    worker.on('error', (err) => this.stopped(err));
    worker.on('exit', (code) =>
      this.stopped(new LbctlError('VRRP_THREAD_STOPPED', `the VRRP thread exited (${code})`)),
    );
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
    return this.planIn('vrrp', next, (answer) => this.setStates(answer.states));
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

  /** The thread's event loop delay since the last reading (benchmarks). */
  loopDelay(): Promise<LoopDelayReading> {
    return this.request({ op: 'loopDelay' });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined || this.closing) return;
    this.closing = true;
    this.unfollowDataPlane?.();
    this.unfollowDataPlane = undefined;
    try {
      await this.request({ op: 'close', service: 'vrrp' });
    } finally {
      await worker.terminate();
      this.worker = undefined;
    }
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
        if (this.worker !== undefined && !this.closing)
          await this.request({ op: 'close', service });
      },
      planReload: (next) => this.planIn(service, next, () => undefined),
      reading: () =>
        this.worker === undefined || this.closing
          ? Promise.resolve(undefined)
          : this.request({ op: 'scheduling' }),
    };
  }

  /** Plans in the thread; the plan's apply runs there too, and `applied` hears its answer. */
  private async planIn(
    service: ThreadServiceName,
    next: Config,
    applied: (answer: ThreadAnswers['apply']) => void,
  ): Promise<{ summary: string; apply: () => Promise<void> }> {
    const { summary } = await this.request({ op: 'plan', service, config: vrrpPart(next) });
    return {
      summary,
      apply: async () => {
        applied(await this.request({ op: 'apply', service }));
        if (service === 'vrrp') this.config = next;
      },
    };
  }

  private request<R extends ThreadRequest>(request: R): Promise<ThreadAnswers[R['op']]> {
    const worker = this.worker;
    if (worker === undefined)
      return Promise.reject(
        new LbctlError('VRRP_THREAD_STOPPED', 'the VRRP thread is not running'),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.send({ kind: 'request', id, request });
    });
  }

  private send(message: ToThread): void {
    this.worker?.postMessage(message);
  }

  private receive(message: FromThread): void {
    if (message.kind === 'change') {
      this.states.set(message.instance, message.to);
      for (const listener of this.stateListeners) {
        try {
          listener(message.instance, message.to);
        } catch (err) {
          // A follower's failure must not disturb the others.
          this.logger.error({ err, instance: message.instance }, 'state listener failed');
        }
      }
      return;
    }
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    if (message.kind === 'answer') pending.resolve(message.value);
    else pending.reject(errorFromThread(message.error));
  }

  /** The instances the thread runs now (after start and each reload). */
  private setStates(states: readonly InstanceState[]): void {
    this.states.clear();
    for (const [instance, state] of states) this.states.set(instance, state);
  }

  /** The thread ended: expected after close; otherwise VRRP is gone and the daemon must stop. */
  private stopped(err: Error): void {
    if (this.worker === undefined) return;
    this.worker = undefined;
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
    if (this.closing || !this.running) return;
    this.logger.fatal({ err }, `the VRRP thread stopped: ${err.message}`);
    this.options.onFailure(err);
  }
}
