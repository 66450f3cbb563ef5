/**
 * The messages between the daemon's main thread and its VRRP thread
 * (vrrp-thread.ts, vrrp-thread-worker.ts). Everything is plain data: it
 * crosses by structured clone.
 */
import type { Config } from '../config/model.js';
import type { DataPlaneHealth } from '../dataplane/supervisor.js';
import { isErrorCode } from '../error-codes.js';
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

/** The daemon's log level and format, resolved on the main thread (a worker sees no TTY). */
export type ThreadLogOptions = Required<Pick<LoggerOptions, 'level' | 'format'>>;

export interface VrrpThreadData {
  /** The configuration's VRRP part (see vrrpPart). */
  readonly config: Config;
  readonly log: ThreadLogOptions;
  /** Whether the virtual servers' data-plane health will be forwarded (VRRP waits for it). */
  readonly followsDataPlane: boolean;
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
  | { readonly op: 'states' }
  | { readonly op: 'status' }
  | { readonly op: 'view' }
  | { readonly op: 'scheduling' }
  | { readonly op: 'loopDelay' }
  | { readonly op: 'ping' };

/** The answer to each request, by op. */
export interface ThreadAnswers {
  start: { readonly states: readonly InstanceState[] };
  close: null;
  plan: { readonly summary: string };
  apply: null;
  states: readonly InstanceState[];
  status: readonly VrrpInstanceStatus[];
  view: VrrpEngineView | undefined;
  scheduling: SchedulingReading | undefined;
  loopDelay: LoopDelayReading;
  ping: null;
}

export type InstanceState = readonly [instance: string, state: VrrpState];

export type ToThread =
  | { readonly kind: 'request'; readonly id: number; readonly request: ThreadRequest }
  | { readonly kind: 'health'; readonly health: DataPlaneHealth };

export type FromThread =
  | { readonly kind: 'answer'; readonly id: number; readonly value: unknown }
  | { readonly kind: 'failed'; readonly id: number; readonly error: ThreadError }
  | { readonly kind: 'change'; readonly instance: string; readonly to: VrrpState };

/** An error as it crosses: enough to rebuild it (a refusal's reasons, a system call's errno). */
export interface ThreadError {
  readonly message: string;
  readonly code?: string;
  readonly details?: readonly string[];
  readonly errno?: number;
  readonly syscall?: string;
  /** What the addon was doing (NativeError, BpfError). */
  readonly operation?: string;
  readonly stack?: string;
}

/** The configuration without its virtual servers: all VRRP and scheduling read, and small to copy. */
export function vrrpPart(config: Config): Config {
  return { ...config, virtualServerGroups: [], virtualServers: [] };
}

export function errorToThread(err: unknown): ThreadError {
  if (!(err instanceof Error)) return { message: String(err) };
  const { code, errno, syscall, operation } = err as Error &
    Partial<Record<'code' | 'errno' | 'syscall' | 'operation', unknown>>;
  return {
    message: err.message,
    ...(err.stack !== undefined && { stack: err.stack }),
    ...(typeof code === 'string' && { code }),
    ...(typeof errno === 'number' && { errno }),
    ...(typeof syscall === 'string' && { syscall }),
    ...(typeof operation === 'string' && { operation }),
    ...(err instanceof ReloadRefusedError && { details: err.details }),
  };
}

/** The error again, as an LbctlError when it was one (system errors keep code, errno, syscall). */
export function errorFromThread(error: ThreadError): Error {
  const rebuilt =
    error.details !== undefined
      ? new ReloadRefusedError(error.details)
      : error.code !== undefined && isErrorCode(error.code)
        ? new LbctlError(error.code, error.message)
        : new Error(error.message);
  const extra = rebuilt as Error & {
    code?: string;
    errno?: number;
    syscall?: string;
    operation?: string;
  };
  if (!(rebuilt instanceof LbctlError) && error.code !== undefined) extra.code = error.code;
  if (error.errno !== undefined) extra.errno = error.errno;
  if (error.syscall !== undefined) extra.syscall = error.syscall;
  if (error.operation !== undefined) extra.operation = error.operation;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}
