import type { AddressInfo, Server } from 'node:net';
import net from 'node:net';

/** Starts `server` on 127.0.0.1 with a kernel-chosen port and returns the port. */
export async function listenLocal(server: Server, address = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    // Open keep-alive or hung connections must not keep the test alive.
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** A loopback port with nothing listening (bound then released). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listenLocal(server);
  await closeServer(server);
  return port;
}
