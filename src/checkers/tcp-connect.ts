import net from 'node:net';
import type { ConnectOptions } from './types.js';

/**
 * Opens a TCP connection per the checker's connect options (connect_ip,
 * connect_port, bindto, bind_port). Aborting `signal` destroys the socket and
 * rejects.
 */
export function connectTcp(options: ConnectOptions, signal: AbortSignal): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = net.connect({
      host: options.connectIp,
      port: options.connectPort,
      ...(options.bindTo !== undefined ? { localAddress: options.bindTo } : {}),
      ...(options.bindPort !== undefined ? { localPort: options.bindPort } : {}),
      noDelay: true,
    });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
  });
}
