import type { ErrorCode } from './error-codes.js';

/**
 * One base error for everything lbctl reports. `code` is stable and meant for
 * programs (tests, the CLI's exit handling); `message` is for people and says
 * "Cannot <action>: <reason>".
 */
export class LbctlError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LbctlError';
    this.code = code;
  }
}

/** True when `err` is an LbctlError carrying `code`. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof LbctlError && err.code === code;
}
