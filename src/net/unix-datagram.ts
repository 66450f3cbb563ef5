import { native } from '../native/addon.js';

/**
 * Sends one datagram to an AF_UNIX SOCK_DGRAM socket (`@name` = abstract
 * namespace) without blocking; Node's core cannot. Throws BpfError with the
 * errno when the receiver is missing (ENOENT, ECONNREFUSED) or full (EAGAIN).
 */
export function sendUnixDatagram(path: string, payload: Buffer): number {
  return native().sendUnixDatagram(path, payload);
}
