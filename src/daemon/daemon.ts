import type { Config } from '../config/model.js';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Service } from '../service.js';
import { type ReloadOutcome, reloadServices } from './reload.js';

/** Reads the configuration again for a reload (the file `up` was given). */
export type ConfigReader = () => Promise<{ config: Config; warnings: readonly string[] }>;

/**
 * Moments the outside world (systemd's sd_notify) hears about. Every reload,
 * from SIGHUP or `lbctl reload`, goes through `Daemon.reload`, so these
 * bracket all of them.
 */
export interface DaemonLifecycle {
  reloading?(): void;
  /** After a reload, applied or refused: the daemon runs (old or new configuration). */
  reloaded?(): void;
}

export interface DaemonOptions {
  /** Without it the daemon cannot reload. */
  readonly readConfig?: ConfigReader;
  readonly lifecycle?: DaemonLifecycle;
  /**
   * The order services close in (at shutdown, and after a failed start for
   * those that started); services it leaves out close after, in the reverse
   * of the start order.
   */
  readonly stopOrder?: readonly Service[];
}

/**
 * Runs services together: started in order, and if one fails to start the
 * ones already started are closed (nothing is left half-applied); closed in
 * the given stop order on shutdown (by default the reverse of the start order).
 */
export class Daemon {
  private started: Service[] = [];
  private closing: Promise<void> | undefined;
  private reloads: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly services: readonly Service[],
    private readonly logger: Logger,
    private readonly options: DaemonOptions = {},
  ) {}

  /**
   * Reloads the configuration (SIGHUP and `lbctl reload`): validated whole,
   * then only the difference applied; refused as a whole otherwise, with
   * every reason. Reloads run one at a time, in order of request.
   */
  reload(): Promise<ReloadOutcome> {
    const run = async () => {
      const { readConfig } = this.options;
      if (readConfig === undefined || this.closing !== undefined) {
        throw new LbctlError(
          'RELOAD_UNAVAILABLE',
          this.closing !== undefined
            ? 'Cannot reload: the daemon is shutting down'
            : 'Cannot reload: the daemon was not started from a configuration file',
        );
      }
      this.logger.info('reloading the configuration');
      this.options.lifecycle?.reloading?.();
      try {
        return await reloadServices(this.started, readConfig, this.logger);
      } finally {
        this.options.lifecycle?.reloaded?.();
      }
    };
    const next = this.reloads.then(run, run);
    this.reloads = next.catch(() => undefined);
    return next;
  }

  async start(): Promise<void> {
    for (const service of this.services) {
      try {
        await service.start();
      } catch (err) {
        this.logger.error({ service: service.name, err }, 'Cannot start %s', service.name);
        await this.close();
        throw err;
      }
      this.started.push(service);
      this.logger.debug({ service: service.name }, 'started %s', service.name);
    }
  }

  /** Closes started services in the stop order; a failing close is logged and the rest still close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const listed = this.options.stopOrder ?? [];
      const unlisted = [...this.services].reverse().filter((s) => !listed.includes(s));
      const started = new Set(this.started);
      const order = [...listed, ...unlisted];
      for (const service of order.filter((s) => started.has(s))) {
        try {
          await service.close();
        } catch (err) {
          this.logger.error(
            { service: service.name, err },
            'Cannot close %s cleanly',
            service.name,
          );
        }
      }
      this.started = [];
    })();
    return this.closing;
  }
}
