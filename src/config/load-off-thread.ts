import { deserialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { LoopSlicer } from '../time/loop-slice.js';
import { ConfigError, type ConfigIssue, type ConfigWarning } from './errors.js';
import type { ConfigFormat, LoadOptions, LoadResult } from './load.js';
import { type Config, deepFreeze, type VirtualServer } from './model.js';

/** Bounds on one load in the worker. */
export interface OffThreadLimits {
  /** Wall time from starting the worker to its answer. */
  readonly timeoutMs: number;
  /** The worker's V8 heap (old generation); past it the worker is stopped. */
  readonly maxHeapMb: number;
}

/**
 * Far above what any real configuration needs (1,000 virtual servers × 32
 * reals load in ~1 s of CPU and fit a 96 MiB heap, not 48), so only a
 * runaway load meets them.
 */
export const DEFAULT_OFF_THREAD_LIMITS: OffThreadLimits = { timeoutMs: 60_000, maxHeapMb: 1024 };

/** What the worker is asked to load (LoadOptions with plain data only). */
export interface LoadJob {
  readonly path: string;
  readonly options: Omit<LoadOptions, 'existingInterfaces'> & {
    readonly existingInterfaces?: readonly string[];
  };
}

/** The worker's one answer. */
export type WorkerMessage =
  | {
      readonly kind: 'loaded';
      /** The configuration without its virtual servers. */
      readonly head: Omit<Config, 'virtualServers'>;
      /** The virtual servers, in order, v8-serialized a few hundred real servers at a time. */
      readonly pieces: readonly ArrayBuffer[];
      readonly warnings: readonly ConfigWarning[];
      readonly format: ConfigFormat;
    }
  | { readonly kind: 'refused'; readonly issues: readonly ConfigIssue[] }
  | { readonly kind: 'failed'; readonly message: string };

const WORKER_URL = new URL('./load-worker.js', import.meta.url);

/**
 * loadConfig in a worker thread, for a running daemon: reading, parsing and
 * validating a large file takes the worker ~1 s of CPU, which on the main
 * thread would hold up VRRP's timers (a 0.1 s advert interval misses three
 * adverts in 0.3 s). The worker hands the configuration over in one message
 * whose virtual servers are serialized in pieces of a few hundred real
 * servers; the main thread decodes and freezes one piece per turn of the
 * event loop, so timers run in between. The same problems, at the same
 * file:line:column, as loadConfig; a load that runs past `limits` is stopped
 * and refused with what it exceeded.
 */
export async function loadConfigOffThread(
  path: string,
  options: LoadOptions = {},
  limits: OffThreadLimits = DEFAULT_OFF_THREAD_LIMITS,
): Promise<LoadResult> {
  const loaded = await runWorker(path, options, limits);
  const virtualServers: VirtualServer[] = [];
  const slicer = new LoopSlicer();
  for (const piece of loaded.pieces) {
    await slicer.nextSlice();
    for (const vs of deserialize(new Uint8Array(piece)) as VirtualServer[])
      virtualServers.push(deepFreeze(vs));
  }
  // One freeze of each object: deepFreeze stops at the already frozen virtual servers.
  const config: Config = deepFreeze({ ...loaded.head, virtualServers });
  return { config, warnings: loaded.warnings, format: loaded.format };
}

/** Runs the worker to its answer: the loaded configuration, or the ConfigError it refuses with. */
function runWorker(
  path: string,
  options: LoadOptions,
  limits: OffThreadLimits,
): Promise<Extract<WorkerMessage, { kind: 'loaded' }>> {
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
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb },
      // The loader prints nothing; whatever it might is not the daemon's output.
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const finish = (
      outcome: { loaded: Extract<WorkerMessage, { kind: 'loaded' }> } | { error: Error },
    ) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if ('loaded' in outcome) resolve(outcome.loaded);
      else reject(outcome.error);
    };
    const timer = setTimeout(
      () => finish({ error: refuse(`loading took longer than ${limits.timeoutMs} ms`) }),
      limits.timeoutMs,
    );
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'loaded') finish({ loaded: message });
      else if (message.kind === 'refused') finish({ error: new ConfigError(message.issues) });
      else finish({ error: refuse(message.message) });
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
