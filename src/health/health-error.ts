import { LbctlError } from '../errors.js';

/** A virtual server health option that cannot work. */
export class HealthConfigError extends LbctlError {
  constructor(message: string) {
    super('HEALTH_INVALID_OPTION', message);
    this.name = 'HealthConfigError';
  }
}
