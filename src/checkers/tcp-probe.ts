import { getSystemErrorName } from 'node:util';
import { type NativeTcpProber, native } from '../native/addon.js';
import { formatEndpoint } from '../net/endpoint.js';
import type { StatusCodeRange } from './status-codes.js';
import type { ConnectOptions } from './types.js';

/** What ended a probe besides an errno: the numbering of native/tcp_prober.h. */
const OUTCOME = {
  done: 0,
  statusRejected: 1,
  headTooLarge: 2,
  malformedStatus: 3,
  closedBeforeResponse: 4,
  closedBeforeBody: 5,
  writeFailed: 6,
  readFailed: 7,
} as const;

/** Status line and headers larger than this are not a health-check answer (native/http_head.h). */
const MAX_HEAD_BYTES = 16 * 1024;

/** An exchange's answer: its status, and whether it is among the accepted ones (then the whole body arrived). */
export interface HttpProbeAnswer {
  readonly status: number;
  readonly accepted: boolean;
}

/** The arguments connect() and exchange() start with. */
type ProbeTarget = Parameters<NativeTcpProber['connect']>;

interface Pending {
  readonly options: ConnectOptions;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  readonly resolve: (answer: HttpProbeAnswer) => void;
  readonly reject: (err: Error) => void;
}

/**
 * A failed system call worded as Node words its own (`connect ECONNREFUSED
 * 10.0.0.1:80` with code, errno, syscall, address and port; `read
 * ECONNRESET`), so a check's failure reads the same whichever way it connected.
 */
function systemError(
  errno: number,
  outcome: number,
  options: ConnectOptions,
): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  const syscall =
    outcome === OUTCOME.writeFailed ? 'write' : outcome === OUTCOME.readFailed ? 'read' : 'connect';
  if (syscall !== 'connect') {
    return Object.assign(new Error(`${syscall} ${code}`), { code, errno: -errno, syscall });
  }
  const err: NodeJS.ErrnoException = new Error(
    `connect ${code} ${formatEndpoint(options.connectIp, options.connectPort)}`,
  );
  return Object.assign(err, {
    code,
    errno: -errno,
    syscall,
    address: options.connectIp,
    port: options.connectPort,
  });
}

/** An exchange that ended without an answer: the words of Http10Request. */
function protocolError(outcome: number, detail: string | undefined): Error {
  switch (outcome) {
    case OUTCOME.headTooLarge:
      return new Error(`response headers exceed ${MAX_HEAD_BYTES} bytes`);
    case OUTCOME.malformedStatus:
      return new Error(`malformed status line "${(detail ?? '').slice(0, 80)}"`);
    case OUTCOME.closedBeforeResponse:
      return new Error('connection closed before a response');
    default:
      return new Error('connection closed before the whole body arrived');
  }
}

/**
 * Health checks' TCP connections through the addon's TcpProber: no Node
 * socket per probe (see native/tcp_prober.h). One per thread.
 */
class TcpProbes {
  private prober: NativeTcpProber | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  connect(options: ConnectOptions, signal: AbortSignal): Promise<void> {
    return this.start(options, signal, (prober, target) => prober.connect(...target)).then(
      () => undefined,
    );
  }

  exchange(
    options: ConnectOptions,
    request: Buffer,
    accepted: readonly StatusCodeRange[],
    signal: AbortSignal,
  ): Promise<HttpProbeAnswer> {
    const ranges = Int32Array.from(accepted.flatMap((r) => [r.from, r.to]));
    return this.start(options, signal, (prober, target) =>
      prober.exchange(...target, request, ranges),
    );
  }

  /** Starts a probe: `begin` gets the arguments both kinds start with (id, family, target, source). */
  private start(
    options: ConnectOptions,
    signal: AbortSignal,
    begin: (prober: NativeTcpProber, target: ProbeTarget) => number,
  ): Promise<HttpProbeAnswer> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    let now: number;
    try {
      this.prober ??= new (native().TcpProber)((...settled) => this.settled(...settled));
      now = begin(this.prober, [
        id,
        // connect_ip is an address (validated with the configuration): IPv6 has colons.
        options.connectIp.includes(':') ? 6 : 4,
        options.connectIp,
        options.connectPort,
        options.bindTo,
        options.bindPort,
      ]);
    } catch (err) {
      // A refused argument or a failed socket() fails this check, like a refused connect.
      return Promise.reject(err);
    }
    if (now === 0) return Promise.resolve({ status: 0, accepted: true });
    if (now > 0) return Promise.reject(systemError(now, OUTCOME.done, options));
    return new Promise<HttpProbeAnswer>((resolve, reject) => {
      const onAbort = (): void => {
        this.prober?.cancel(id);
        this.pending.delete(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { options, signal, onAbort, resolve, reject });
    });
  }

  private settled(
    ids: Uint32Array,
    errnos: Int32Array,
    outcomes: Int32Array,
    statuses: Int32Array,
    details: readonly (string | undefined)[] | undefined,
  ): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const probe = this.pending.get(id);
      if (probe === undefined) continue;
      this.pending.delete(id);
      probe.signal.removeEventListener('abort', probe.onAbort);
      const errno = errnos[i] as number;
      const outcome = outcomes[i] as number;
      const status = statuses[i] as number;
      if (errno !== 0) probe.reject(systemError(errno, outcome, probe.options));
      else if (outcome === OUTCOME.done) probe.resolve({ status, accepted: true });
      else if (outcome === OUTCOME.statusRejected) probe.resolve({ status, accepted: false });
      else probe.reject(protocolError(outcome, details?.[i]));
    }
  }
}

const probes = new TcpProbes();

/**
 * Connects to the checker's target (connect_ip, connect_port, from bindto and
 * bind_port when set) and closes at once: resolves when the connection
 * completed, rejects with the connect's error. Aborting `signal` closes the
 * attempt and rejects with its reason.
 */
export function probeTcp(options: ConnectOptions, signal: AbortSignal): Promise<void> {
  return probes.connect(options, signal);
}

/**
 * One HTTP/1.0 request and its answer, the body read to its end but not
 * kept: for HTTP_GET urls without a digest. Resolves with the status (and
 * whether `accepted` has it; a rejected status ends the exchange there);
 * rejects on a system error (connect's or read's), an answer that is not
 * HTTP, or a connection closed early. Aborting `signal` closes it.
 */
export function probeHttp(
  options: ConnectOptions,
  request: Buffer,
  accepted: readonly StatusCodeRange[],
  signal: AbortSignal,
): Promise<HttpProbeAnswer> {
  return probes.exchange(options, request, accepted, signal);
}
