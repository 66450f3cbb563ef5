import { LbctlError } from '../errors.js';

/** A reload the running daemon does not apply; `details` lists every reason. */
export class ReloadRefusedError extends LbctlError {
  constructor(readonly details: readonly string[]) {
    super('RELOAD_REFUSED', `Cannot reload: ${details.join('; ')}`);
  }
}
