import dgram from 'node:dgram';
import net from 'node:net';
import type { ConnectOptions } from './types.js';

export type ReplyVerdict<T> = { readonly done: true; readonly value: T } | { readonly done: false };

/**
 * Sends one datagram from a socket connected to the target and hands every
 * reply to `onReply` until it reports done. An ICMP port unreachable surfaces
 * as a rejection with reason "port unreachable". `onQuiet`, when given, ends
 * the exchange after `quietMs` without a reply (UDP_CHECK's "no news is good
 * news"). Aborting closes the socket and rejects.
 */
export function udpExchange<T>(
  options: ConnectOptions,
  payload: Buffer,
  signal: AbortSignal,
  onReply: (reply: Buffer) => ReplyVerdict<T>,
  quiet?: { readonly ms: number; readonly value: T },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const type = net.isIPv6(options.connectIp) ? 'udp6' : 'udp4';
    const socket = dgram.createSocket(type);
    let quietTimer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (fn: () => void): void => {
      if (finished) return;
      finished = true;
      if (quietTimer !== undefined) clearTimeout(quietTimer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      fn();
    };
    const onAbort = (): void => finish(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish(() => reject(err.code === 'ECONNREFUSED' ? new Error('port unreachable') : err));
    });
    socket.on('message', (reply) => {
      let verdict: ReplyVerdict<T>;
      try {
        verdict = onReply(reply);
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      if (verdict.done) finish(() => resolve(verdict.value));
    });
    const connect = (): void => {
      socket.connect(options.connectPort, options.connectIp, () => {
        socket.send(payload, (err) => {
          if (err) {
            finish(() => reject(err));
            return;
          }
          if (quiet !== undefined) {
            quietTimer = setTimeout(() => finish(() => resolve(quiet.value)), quiet.ms);
          }
        });
      });
    };
    if (options.bindTo !== undefined || options.bindPort !== undefined) {
      socket.bind(
        {
          port: options.bindPort ?? 0,
          ...(options.bindTo !== undefined ? { address: options.bindTo } : {}),
          exclusive: true,
        },
        connect,
      );
    } else {
      connect();
    }
  });
}
