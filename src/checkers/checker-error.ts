import { LbctlError } from '../errors.js';

/** A checker option that cannot work, caught when the checker is built. */
export class CheckerConfigError extends LbctlError {
  constructor(message: string) {
    super('CHECKER_INVALID_OPTION', message);
    this.name = 'CheckerConfigError';
  }
}
