/**
 * The UDP multicast sockets of connection sync, as the kernel's sync daemons
 * make them: the sender leaves on the configured interface with the
 * configured TTL and no loopback; the receiver binds the group's port,
 * joins the group on that interface only, and hands each datagram over.
 * Node's dgram sockets are event-loop driven already; nothing polls.
 */
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { LbctlError } from '../errors.js';
import { ipFamily } from '../net/address.js';

export interface MulticastEndpoint {
  readonly interface: string;
  readonly group: string;
  readonly port: number;
  readonly ttl: number;
}

/** The largest datagram the receiver reads; longer ones arrive truncated and fail the size check. */
const RECEIVE_BUFFER_BYTES = 1 << 20;

export interface SyncSender {
  send(message: Buffer): void;
  /** Resolves once every message sent so far has left (or failed), or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  close(): void;
}

export interface SyncReceiver {
  close(): void;
}

/** Where the socket says which interface to use: its IPv4 address, or `::%name` for IPv6. */
function interfaceSelector(endpoint: MulticastEndpoint): string {
  if (ipFamily(endpoint.group) === 6) return `::%${endpoint.interface}`;
  const address = networkInterfaces()[endpoint.interface]?.find((a) => a.family === 'IPv4');
  if (address === undefined) {
    throw new LbctlError(
      'SYNC_NO_SUCH_INTERFACE',
      `Cannot start connection sync on ${endpoint.interface}: ${
        networkInterfaces()[endpoint.interface] === undefined
          ? 'no such interface'
          : 'it has no IPv4 address to send and join the group from'
      }`,
    );
  }
  return address.address;
}

function socketError(action: string, endpoint: MulticastEndpoint, err: unknown): LbctlError {
  const reason = err instanceof Error ? err.message : String(err);
  return new LbctlError(
    'SYNC_SOCKET',
    `Cannot ${action} connection sync on ${endpoint.interface} (${endpoint.group} port ${endpoint.port}): ${reason}`,
    { cause: err },
  );
}

/** Runs a socket call that reports success by callback and failure as an 'error' event. */
function socketCall(socket: Socket, call: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    call(() => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function bind(socket: Socket, port: number, address?: string): Promise<void> {
  return socketCall(socket, (done) =>
    socket.bind({ port, ...(address !== undefined ? { address } : {}), exclusive: false }, done),
  );
}

function connect(socket: Socket, endpoint: MulticastEndpoint): Promise<void> {
  return socketCall(socket, (done) => socket.connect(endpoint.port, endpoint.group, done));
}

export async function openSyncSender(
  endpoint: MulticastEndpoint,
  onError: (err: Error) => void,
): Promise<SyncSender> {
  const selector = interfaceSelector(endpoint);
  const socket = createSocket({ type: ipFamily(endpoint.group) === 6 ? 'udp6' : 'udp4' });
  try {
    await bind(socket, 0);
    socket.setMulticastInterface(selector);
    socket.setMulticastTTL(endpoint.ttl);
    socket.setMulticastLoopback(false);
    // Connected once (the route follows the multicast interface set above):
    // a send then skips the per-datagram address lookup, ~25 % of its CPU.
    await connect(socket, endpoint);
  } catch (err) {
    socket.close();
    throw socketError('send', endpoint, err);
  }
  socket.on('error', onError);
  // Sends complete asynchronously: closing the socket cancels those still queued.
  let inFlight = 0;
  const drained: (() => void)[] = [];
  return {
    send: (message) => {
      inFlight++;
      socket.send(message, (err) => {
        if (err) onError(err);
        if (--inFlight === 0) for (const resolve of drained.splice(0)) resolve();
      });
    },
    flush: (timeoutMs) =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, timeoutMs);
            drained.push(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
    close: () => socket.close(),
  };
}

export async function openSyncReceiver(
  endpoint: MulticastEndpoint,
  onDatagram: (datagram: Buffer) => void,
  onError: (err: Error) => void,
): Promise<SyncReceiver> {
  const selector = interfaceSelector(endpoint);
  const socket = createSocket({
    type: ipFamily(endpoint.group) === 6 ? 'udp6' : 'udp4',
    reuseAddr: true,
    recvBufferSize: RECEIVE_BUFFER_BYTES,
  });
  try {
    // IPv4: bound to the group's address, so datagrams to other groups on the port stay out.
    await bind(socket, endpoint.port, ipFamily(endpoint.group) === 6 ? '::' : endpoint.group);
    socket.addMembership(endpoint.group, selector);
  } catch (err) {
    socket.close();
    throw socketError('receive', endpoint, err);
  }
  socket.on('error', onError);
  socket.on('message', (datagram) => onDatagram(datagram));
  return { close: () => socket.close() };
}
