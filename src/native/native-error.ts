import type { ErrorCode } from '../error-codes.js';
import { LbctlError } from '../errors.js';

/** Stable codes of the addon's non-BPF failures (sockets, namespaces; mirrors native/errors.h). */
export type NativeErrorCode =
  | 'NATIVE_INVALID_ARGUMENT'
  | 'NATIVE_CLOSED'
  | 'NATIVE_NO_SUCH_INTERFACE'
  | 'SYSTEM_CALL_FAILED'
  | 'ADDON_NOT_BUILT';

/**
 * A failure inside the native addon: which operation failed (the system call),
 * and the errno it returned. BPF failures are the subclass BpfError.
 */
export class NativeError<Code extends ErrorCode = NativeErrorCode> extends LbctlError {
  override readonly code: Code;
  readonly errno: number;
  readonly operation: string;

  constructor(message: string, code: Code, errno: number, operation: string) {
    super(code, message);
    this.name = 'NativeError';
    this.code = code;
    this.errno = errno;
    this.operation = operation;
  }
}
