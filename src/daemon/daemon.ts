import type { Logger } from '../log.js';
import type { Service } from './service.js';

/**
 * Runs services together: started in order, and if one fails to start the
 * ones already started are closed (nothing is left half-applied); closed in
 * reverse order on shutdown.
 */
export class Daemon {
  private started: Service[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly services: readonly Service[],
    private readonly logger: Logger,
  ) {}

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

  /** Closes started services in reverse order; a failing close is logged and the rest still close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const service of [...this.started].reverse()) {
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
