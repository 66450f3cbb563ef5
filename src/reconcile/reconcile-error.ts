import { LbctlError } from '../errors.js';

/** A virtual server that the data plane cannot carry, found before anything is applied. */
export class UnsupportedServiceError extends LbctlError {
  constructor(message: string) {
    super('VIRTUAL_SERVER_UNSUPPORTED', message);
    this.name = 'UnsupportedServiceError';
  }
}
