import { registerNativeErrorFactory } from '../native/addon.js';
import { NativeError } from '../native/native-error.js';

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
  | 'SYSTEM_CALL_FAILED';

/**
 * A failure in the BPF binding: which operation failed (the libbpf or system
 * call), the errno it returned, and for load failures the verifier's log.
 */
export class BpfError extends NativeError<BpfErrorCode> {
  readonly verifierLog: string | undefined;
  readonly libbpfLog: string | undefined;

  constructor(
    message: string,
    code: BpfErrorCode,
    errno: number,
    operation: string,
    extra: { verifierLog?: string; libbpfLog?: string } = {},
  ) {
    super(message, code, errno, operation);
    this.name = 'BpfError';
    this.verifierLog = extra.verifierLog;
    this.libbpfLog = extra.libbpfLog;
  }
}

/** BPF and XDP codes are the BPF binding's; sockets and namespaces use NativeError's. */
function isBpfCode(code: string): code is BpfErrorCode {
  return code.startsWith('BPF_') || code.startsWith('XDP_');
}

function bpfErrorFactory(
  message: string,
  code: string,
  errno: number,
  operation: string,
  extra: { verifierLog?: string; libbpfLog?: string },
): BpfError | undefined {
  return isBpfCode(code) ? new BpfError(message, code, errno, operation, extra) : undefined;
}

/** Makes the addon raise BpfError for BPF codes; src/bpf/addon.ts calls it before any use. */
export function registerBpfErrors(): void {
  registerNativeErrorFactory(bpfErrorFactory);
}
