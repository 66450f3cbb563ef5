import { LbctlError } from '../errors.js';

/** Stable codes of errors raised by the BPF binding (mirrors native/errors.h). */
export type BpfErrorCode =
  | 'BPF_INVALID_ARGUMENT'
  | 'BPF_CLOSED'
  | 'BPF_BUSY'
  | 'BPF_OPEN_FAILED'
  | 'BPF_LOAD_FAILED'
  | 'BPF_NOT_FOUND'
  | 'BPF_NOT_LOADED'
  | 'BPF_ALREADY_LOADED'
  | 'BPF_MAP_OPERATION_FAILED'
  | 'BPF_PIN_FAILED'
  | 'BPF_OBJ_GET_FAILED'
  | 'XDP_NO_SUCH_INTERFACE'
  | 'XDP_ATTACH_FAILED'
  | 'BPF_LINK_FAILED'
  | 'BPF_TEST_RUN_FAILED'
  | 'SYSTEM_CALL_FAILED'
  | 'ADDON_NOT_BUILT';

/**
 * A failure in the BPF binding: which operation failed (the libbpf or system
 * call), the errno it returned, and for load failures the verifier's log.
 */
export class BpfError extends LbctlError {
  override readonly code: BpfErrorCode;
  readonly errno: number;
  readonly operation: string;
  readonly verifierLog: string | undefined;
  readonly libbpfLog: string | undefined;

  constructor(
    message: string,
    code: BpfErrorCode,
    errno: number,
    operation: string,
    extra: { verifierLog?: string; libbpfLog?: string } = {},
  ) {
    super(code, message);
    this.name = 'BpfError';
    this.code = code;
    this.errno = errno;
    this.operation = operation;
    this.verifierLog = extra.verifierLog;
    this.libbpfLog = extra.libbpfLog;
  }
}
