/**
 * The messages between the daemon's main thread and its VRRP thread
 * (vrrp-thread.ts, vrrp-thread-worker.ts). Everything is plain data: it
 * crosses by structured clone.
 */
import type { Config } from '../config/model.js';
import type { DataPlaneHealth } from '../dataplane/supervisor.js';
import { LbctlError } from '../errors.js';
import type { LoggerOptions } from '../log.js';
import type { SchedulingReading } from '../metrics/scheduling-collectors.js';
import type { VrrpInstanceStatus } from '../status/status-report.js';
import type { VrrpEngineView } from '../vrrp/engine-view.js';
import type { VrrpState } from '../vrrp/state.js';
import { ReloadRefusedError } from './reload-refused.js';

/** The VRRP thread's name, as ps -L and top -H show it. */
export const VRRP_THREAD_NAME = 'lbctl-vrrp';

/** The services the VRRP thread runs: VRRP, and the scheduling of the thread it runs on. */
export type ThreadServiceName = 'vrrp' | 'scheduling';

export interface VrrpThreadData {
  /** The configuration's VRRP part (see vrrpPart). */
  readonly config: Config;
  readonly log: Omit<LoggerOptions, 'destination'>;
}

/** The event loop delay the VRRP thread saw since the last reading, in milliseconds. */
export interface LoopDelayReading {
  readonly maxMs: number;
  readonly p99Ms: number;
}

export type ThreadRequest =
  | { readonly op: 'start' | 'close'; readonly service: ThreadServiceName }
  | { readonly op: 'plan'; readonly service: ThreadServiceName; readonly config: Config }
  | { readonly op: 'apply'; readonly service: ThreadServiceName }
  | { readonly op: 'status' }
  | { readonly op: 'view' }
  | { readonly op: 'scheduling' }
  | { readonly op: 'loopDelay' };

/** The answer to each request, by op. */
export interface ThreadAnswers {
  start: { readonly states: readonly InstanceState[] };
  close: null;
  plan: { readonly summary: string };
  apply: { readonly states: readonly InstanceState[] };
  status: readonly VrrpInstanceStatus[];
  view: VrrpEngineView | undefined;
  scheduling: SchedulingReading | undefined;
  loopDelay: LoopDelayReading;
}

export type InstanceState = readonly [instance: string, state: VrrpState];

export type ToThread =
  | { readonly kind: 'request'; readonly id: number; readonly request: ThreadRequest }
  | { readonly kind: 'health'; readonly health: DataPlaneHealth };

export type FromThread =
  | { readonly kind: 'answer'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'failed'; readonly id: number; readonly error: ThreadError }
  | { readonly kind: 'change'; readonly instance: string; readonly to: VrrpState };

/** An error as it crosses: enough to rebuild the LbctlError (and a refusal's reasons). */
export interface ThreadError {
  readonly message: string;
  readonly code?: string;
  readonly details?: readonly string[];
}

/** The configuration without its virtual servers: all VRRP and scheduling read, and small to copy. */
export function vrrpPart(config: Config): Config {
  return { ...config, virtualServerGroups: [], virtualServers: [] };
}

export function errorToThread(err: unknown): ThreadError {
  if (err instanceof ReloadRefusedError)
    return { message: err.message, code: err.code, details: err.details };
  if (err instanceof LbctlError) return { message: err.message, code: err.code };
  return { message: err instanceof Error ? err.message : String(err) };
}

export function errorFromThread(error: ThreadError): Error {
  if (error.details !== undefined) return new ReloadRefusedError(error.details);
  if (error.code !== undefined)
    return new LbctlError(error.code as LbctlError['code'], error.message);
  return new Error(error.message);
}
