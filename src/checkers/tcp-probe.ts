import { isIPv6 } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { type NativeTcpProber, native } from '../native/addon.js';
import { formatEndpoint } from '../net/endpoint.js';
import type { ConnectOptions } from './types.js';

interface Pending {
  readonly options: ConnectOptions;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/**
 * A failed connect worded as Node words its own (`connect ECONNREFUSED
 * 10.0.0.1:80`, with code, errno, syscall, address and port), so a check's
 * failure reads the same whichever way it connected.
 */
function connectError(errno: number, options: ConnectOptions): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  const err: NodeJS.ErrnoException = new Error(
    `connect ${code} ${formatEndpoint(options.connectIp, options.connectPort)}`,
  );
  return Object.assign(err, {
    code,
    errno: -errno,
    syscall: 'connect',
    address: options.connectIp,
    port: options.connectPort,
  });
}

/**
 * TCP connect probes through the addon's TcpProber: one nonblocking connect
 * per probe, no Node socket (see native/tcp_prober.h). One per thread.
 */
class TcpProbes {
  private prober: NativeTcpProber | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  probe(options: ConnectOptions, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    this.prober ??= new (native().TcpProber)((ids, errnos) => this.settled(ids, errnos));
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    const now = this.prober.connect(
      id,
      isIPv6(options.connectIp) ? 6 : 4,
      options.connectIp,
      options.connectPort,
      options.bindTo,
      options.bindPort,
    );
    if (now === 0) return Promise.resolve();
    if (now > 0) return Promise.reject(connectError(now, options));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.prober?.cancel(id);
        this.pending.delete(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { options, signal, onAbort, resolve, reject });
    });
  }

  private settled(ids: Uint32Array, errnos: Int32Array): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const probe = this.pending.get(id);
      if (probe === undefined) continue;
      this.pending.delete(id);
      probe.signal.removeEventListener('abort', probe.onAbort);
      const errno = errnos[i] as number;
      if (errno === 0) probe.resolve();
      else probe.reject(connectError(errno, probe.options));
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
  return probes.probe(options, signal);
}
