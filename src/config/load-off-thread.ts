import { Worker } from 'node:worker_threads';
import { type ConfigIssue, ConfigError, type ConfigWarning } from './errors.js';
import type { ConfigFormat, LoadOptions, LoadResult } from './load.js';
import { type Config, deepFreeze, type VirtualServer } from './model.js';

/** Bounds on one load in the worker. */
export interface OffThreadLimits {
  /** Wall time from starting the worker to the last piece of the configuration. */
  readonly timeoutMs: number;
  /** The worker's V8 heap (old generation); past it the worker is stopped. */
  readonly maxHeapMb: number;
}

/**
 * Far above what any real configuration needs (1,000 virtual servers × 32
 * reals load in ~1 s and ~150 MiB), so only a runaway load meets them.
 */
export const DEFAULT_OFF_THREAD_LIMITS: OffThreadLimits = { timeoutMs: 60_000, maxHeapMb: 1024 };

/** What the worker is asked to load (LoadOptions with plain data only). */
export interface LoadJob {
  readonly path: string;
  readonly options: Omit<LoadOptions, 'existingInterfaces'> & {
    readonly existingInterfaces?: readonly string[];
  };
}

/** Everything the worker sends, in order: one answer, then the virtual servers piece by piece. */
export type WorkerMessage =
  | {
      readonly kind: 'loaded';
      /** The configuration without its virtual servers. */
      readonly head: Omit<Config, 'virtualServers'>;
      readonly virtualServers: number;
      readonly warnings: readonly ConfigWarning[];
      readonly format: ConfigFormat;
    }
  | { readonly kind: 'virtualServers'; readonly items: readonly VirtualServer[] }
  | { readonly kind: 'refused'; readonly issues: readonly ConfigIssue[] }
  | { readonly kind: 'failed'; readonly message: string };

/** The main thread asks for the next piece once it has taken the last one. */
export type WorkerRequest = 'next';

const WORKER_URL = new URL('./load-worker.js', import.meta.url);

/**
 * loadConfig in a worker thread, for a running daemon: reading, parsing and
 * validating a large file takes the worker ~1 s of CPU, which on the main
 * thread would hold up VRRP's timers (a 0.1 s advert interval misses three
 * adverts in 0.3 s). The worker sends the configuration back in pieces of a
 * few hundred real servers, each asked for in turn, so the main thread never
 * decodes more than a few milliseconds' worth between two timer ticks; it
 * freezes each piece as it arrives. The same problems, at the same
 * file:line:column, as loadConfig; a load that runs past `limits` is stopped
 * and refused with what it exceeded.
 */
export function loadConfigOffThread(
  path: string,
  options: LoadOptions = {},
  limits: OffThreadLimits = DEFAULT_OFF_THREAD_LIMITS,
): Promise<LoadResult> {
  const { existingInterfaces, ...rest } = options;
  const job: LoadJob = {
    path,
    options: {
      ...rest,
      ...(existingInterfaces !== undefined && { existingInterfaces: [...existingInterfaces] }),
    },
  };
  const refuse = (reason: string) =>
    new ConfigError([
      { file: path, line: 1, column: 1, message: `Cannot load configuration: ${reason}` },
    ]);
  return new Promise<LoadResult>((resolve, reject) => {
    const worker = new Worker(WORKER_URL, {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb },
      // The loader prints nothing; whatever it might is not the daemon's output.
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const finish = (outcome: { result: LoadResult } | { error: Error }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if ('result' in outcome) resolve(outcome.result);
      else reject(outcome.error);
    };
    const timer = setTimeout(
      () => finish({ error: refuse(`loading took longer than ${limits.timeoutMs} ms`) }),
      limits.timeoutMs,
    );
    let head: Extract<WorkerMessage, { kind: 'loaded' }> | undefined;
    const virtualServers: VirtualServer[] = [];
    worker.on('message', (message: WorkerMessage) => {
      switch (message.kind) {
        case 'refused':
          finish({ error: new ConfigError(message.issues) });
          return;
        case 'failed':
          finish({ error: refuse(message.message) });
          return;
        case 'loaded':
          head = message;
          deepFreeze(message.head);
          deepFreeze(message.warnings);
          break;
        case 'virtualServers':
          for (const vs of message.items) virtualServers.push(deepFreeze(vs));
          break;
      }
      if (head === undefined) return;
      if (virtualServers.length < head.virtualServers) {
        worker.postMessage('next' satisfies WorkerRequest);
        return;
      }
      const config: Config = deepFreeze({ ...head.head, virtualServers });
      finish({ result: { config, warnings: head.warnings, format: head.format } });
    });
    worker.on('error', (err: Error & { code?: string }) => {
      finish({
        error:
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? refuse(`loading needs more than ${limits.maxHeapMb} MiB of memory`)
            : refuse(err.message),
      });
    });
    worker.on('exit', (code) => {
      finish({ error: refuse(`the loader stopped before it finished (exit code ${code})`) });
    });
  });
}
