import { LbctlError } from '../errors.js';

/** A virtual server that the data plane cannot carry, found before anything is applied. */
export class UnsupportedServiceError extends LbctlError {
  /**
   * True when the only trouble is that no data plane of this lbctl can run it
   * under `dataPlane: auto`: the daemon then leaves it out instead of failing.
   */
  readonly noDataPlane: boolean;

  constructor(message: string, noDataPlane = false) {
    super('VIRTUAL_SERVER_UNSUPPORTED', message);
    this.name = 'UnsupportedServiceError';
    this.noDataPlane = noDataPlane;
  }
}
