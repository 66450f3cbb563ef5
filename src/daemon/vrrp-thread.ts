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

import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/model.js';
import { LbctlError } from '../errors.js';
import { callEach } from '../listeners.js';
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
 * How long the thread has to answer: a status, metrics or heartbeat read at
 * once; a start or reload step past its slowest part. A stop is bounded below
 * systemd's TimeoutStopSec (30 s in packaging/lbctl.service), so that a
 * thread that does not finish it still has its addresses removed from here.
 * A thread that does not answer in time is treated as stopped.
 */
const QUERY_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 20_000;
/** How long close waits for an ended thread to be gone before removing its addresses. */
const TERMINATE_WAIT_MS = 5_000;
/** How often the main thread asks the thread whether its loop still turns. */
const HEARTBEAT_MS = 1_000;

function timeoutOf(op: ThreadRequest['op']): number {
  if (op === 'close') return CLOSE_TIMEOUT_MS;
  return op === 'start' || op === 'plan' || op === 'apply' ? STEP_TIMEOUT_MS : QUERY_TIMEOUT_MS;
}

export interface VrrpThreadOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** How the thread logs: the daemon's level and format, resolved (see resolveLoggerOptions). */
  readonly log: ThreadLogOptions;
  /**
   * The thread stopped on its own (an uncaught error), stopped answering, or
   * did not finish its stop: VRRP no longer runs, so the daemon must stop,
   * and exit non-zero (its instances read FAULT meanwhile, and close removes
   * the VIPs the thread held).
   */
  readonly onFailure: (err: LbctlError) => void;
  /** The thread's code (tests: one that misbehaves); default vrrp-thread-worker.js. */
  readonly workerUrl?: URL;
}

/** The scheduling service of the thread, seen from the main thread. */
export type ThreadScheduling = Service &
  Reloadable & { reading(): Promise<SchedulingReading | undefined> };

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

export class VrrpThread implements VrrpRunner {
  readonly name = 'vrrp';
  /** The thread's scheduling, a service of its own: it starts last and closes first. */
  readonly scheduling: ThreadScheduling;
  private readonly logger: Logger;
  /** The configuration whose VIPs the thread may hold; a reload that failed part way adds its own. */
  private held: Config[];
  private worker: Worker | undefined;
  /** The ended thread's termination, awaited before its addresses are removed from here. */
  private terminated: Promise<unknown> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly states = new Map<string, VrrpState>();
  private readonly stateListeners = new Set<(instance: string, state: VrrpState) => void>();
  private dataPlaneSource: DataPlaneHealthSource | undefined;
  private unfollowDataPlane: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Started: from then on the thread stopping on its own stops the daemon. */
  private running = false;
  /** Why the thread stopped on its own, once it has. */
  private failure: LbctlError | undefined;
  private viewRequest: Promise<VrrpEngineView | undefined> | undefined;

  constructor(private readonly options: VrrpThreadOptions) {
    this.logger = options.logger.child({ service: 'vrrp' });
    this.held = [options.config];
    this.scheduling = this.schedulingService();
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
      config: vrrpPart(this.current),
      log: this.options.log,
      followsDataPlane: this.dataPlaneSource !== undefined,
    };
    const worker = new Worker(this.options.workerUrl ?? WORKER_URL, { workerData: data });
    this.worker = worker;
    // Only the current thread is heard: nothing an ended one still sends.
    worker.on('message', (message: FromThread) => {
      if (this.worker === worker) this.receive(message);
    });
    worker.on('error', (err: unknown) =>
      this.stopped(
        `failed: ${err instanceof Error ? err.message : String(err)}`,
        err instanceof Error ? err : undefined,
      ),
    );
    worker.on('exit', (code) => this.stopped(`exited (${code})`));
    this.unfollowDataPlane = this.dataPlaneSource?.onDataPlaneHealth((health) =>
      this.send({ kind: 'health', health }),
    );
    try {
      this.setStates((await this.request({ op: 'start', service: 'vrrp' })).states);
      this.running = true;
      // A thread whose loop stopped turning is found even when nothing else asks it.
      this.heartbeat = setInterval(() => {
        this.request({ op: 'ping' }).catch(() => undefined);
      }, HEARTBEAT_MS).unref();
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
   * ends. If the thread had stopped on its own, or does not finish its stop,
   * the VIPs and virtual routes it may hold are removed from here, before the
   * virtual servers stop forwarding.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.heartbeat);
      this.unfollowDataPlane?.();
      this.unfollowDataPlane = undefined;
      let stoppedCleanly = false;
      try {
        if (this.worker !== undefined) {
          await this.request({ op: 'close', service: 'vrrp' });
          stoppedCleanly = this.failure === undefined;
        }
      } catch (err) {
        if (this.running) this.fail(asThreadFailure(err));
        throw err;
      } finally {
        const worker = this.worker;
        this.worker = undefined;
        // Bounded: a thread stuck in a system call ends only when the call returns.
        await Promise.race([
          worker?.terminate() ?? this.terminated,
          // Unreferenced: the wait must not hold the process once the thread is gone.
          delay(TERMINATE_WAIT_MS, undefined, { ref: false }),
        ]);
        if (this.running && !stoppedCleanly) await this.releaseHeldAddresses();
      }
    })();
    return this.closing;
  }

  /** The scheduling service running in the thread, as the daemon starts, reloads and reads it. */
  private schedulingService(): ThreadScheduling {
    const service = 'scheduling';
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

  /** The configuration the thread runs. */
  private get current(): Config {
    return this.held[this.held.length - 1] as Config;
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
        if (service !== 'vrrp') {
          await this.request({ op: 'apply', service });
          return;
        }
        try {
          await this.request({ op: 'apply', service });
          this.held = [next];
        } catch (err) {
          // Part of it may be applied: the VIPs of both may be held.
          this.held = [...this.held, next];
          throw err;
        } finally {
          await this.refreshStates();
        }
      },
    };
  }

  private async refreshStates(): Promise<void> {
    if (this.worker === undefined) return;
    try {
      this.setStates(await this.request({ op: 'states' }));
    } catch (err) {
      this.logger.warn({ err }, 'Cannot read the VRRP instances after the reload');
    }
  }

  private async releaseHeldAddresses(): Promise<void> {
    for (const config of this.held) {
      try {
        await VrrpService.releaseAddresses(config, this.options.logger);
      } catch (err) {
        this.logger.error({ err }, 'Cannot remove the VIPs the VRRP thread held');
      }
    }
  }

  private request<R extends ThreadRequest>(request: R): Promise<ThreadAnswers[R['op']]> {
    if (this.worker === undefined)
      return Promise.reject(
        this.failure ??
          new LbctlError('VRRP_THREAD_STOPPED', 'Cannot run VRRP: its thread is not running'),
      );
    const id = this.nextId++;
    const timeoutMs = timeoutOf(request.op);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        // An answer already waiting (a main thread held up past the timeout)
        // is read in the loop's poll phase, before setImmediate runs.
        () =>
          setImmediate(() => {
            if (this.pending.has(id))
              this.stopped(`did not answer ${request.op} within ${timeoutMs / 1000} s`);
          }),
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
    callEach(this.stateListeners, [instance, state], (err) =>
      this.logger.error({ err, instance }, 'state listener failed'),
    );
  }

  /** The instances the thread runs now (after start and each reload). */
  private setStates(states: readonly InstanceState[]): void {
    this.states.clear();
    for (const [instance, state] of states) this.states.set(instance, state);
  }

  /** The thread ended or stopped answering: expected during close; otherwise VRRP is gone. */
  private stopped(what: string, cause?: Error): void {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const err = new LbctlError('VRRP_THREAD_STOPPED', `Cannot run VRRP: its thread ${what}`, {
      ...(cause !== undefined && { cause }),
    });
    for (const pending of [...this.pending.values()]) pending.reject(err);
    // A thread that stopped answering may still run: end it (close waits for that).
    this.terminated = worker.terminate();
    if (this.closing === undefined && this.running) this.fail(err);
  }

  /**
   * VRRP no longer runs: its instances read FAULT to their followers (BGP
   * withdraws, connection sync stops sending) and the daemon must stop.
   */
  private fail(err: LbctlError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    clearInterval(this.heartbeat);
    this.logger.fatal({ err }, `${err.message}: stopping`);
    for (const instance of [...this.states.keys()]) this.publish(instance, 'FAULT');
    this.options.onFailure(err);
  }
}

/** A failed stop, as the daemon's failure. */
function asThreadFailure(err: unknown): LbctlError {
  return err instanceof LbctlError && err.code === 'VRRP_THREAD_STOPPED'
    ? err
    : new LbctlError('VRRP_THREAD_STOPPED', `Cannot stop VRRP: ${(err as Error).message}`, {
        cause: err,
      });
}
