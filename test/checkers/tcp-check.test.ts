import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { runCheck } from '../../src/checkers/run-check.js';
import { TcpChecker } from '../../src/checkers/tcp-check.js';
import { waitFor } from '../support/wait.js';
import { closeServer, listenLocal, unusedPort } from './support/servers.js';

// Connect timeouts are generous: every check here should finish long before them on loopback.
describe('TCP_CHECK against local listeners', () => {
  it('is up when the connection completes', async (t) => {
    const server = net.createServer((socket) => socket.destroy());
    t.after(() => closeServer(server));
    const port = await listenLocal(server);
    const result = await runCheck(
      new TcpChecker({ connectIp: '127.0.0.1', connectPort: port, connectTimeoutMs: 5_000 }),
    );
    assert.deepEqual(result, { ok: true });
  });

  it('reports "connection refused" when nothing listens', async () => {
    const port = await unusedPort();
    const result = await runCheck(
      new TcpChecker({ connectIp: '127.0.0.1', connectPort: port, connectTimeoutMs: 5_000 }),
    );
    assert.deepEqual(result, { ok: false, reason: 'connection refused' });
  });

  it('connects from bindto and bind_port', async (t) => {
    const seen: { address: string | undefined; port: number | undefined }[] = [];
    const server = net.createServer((socket) => {
      seen.push({ address: socket.remoteAddress, port: socket.remotePort });
      socket.destroy();
    });
    t.after(() => closeServer(server));
    const port = await listenLocal(server, '127.0.0.1');
    const bindPort = await unusedPort();
    const result = await runCheck(
      new TcpChecker({
        connectIp: '127.0.0.1',
        connectPort: port,
        bindTo: '127.0.0.2',
        bindPort,
        connectTimeoutMs: 5_000,
      }),
    );
    assert.deepEqual(result, { ok: true });
    // The server may see the connection after the client does.
    await waitFor('the server to see the connection', () => seen.length > 0);
    assert.deepEqual(seen, [{ address: '127.0.0.2', port: bindPort }]);
  });

  it('fails with a clear reason when bindto is not a local address', async (t) => {
    const server = net.createServer((socket) => socket.destroy());
    t.after(() => closeServer(server));
    const port = await listenLocal(server);
    const result = await runCheck(
      new TcpChecker({
        connectIp: '127.0.0.1',
        connectPort: port,
        bindTo: '192.0.2.1',
        connectTimeoutMs: 5_000,
      }),
    );
    assert.deepEqual(result, { ok: false, reason: 'source address not available' });
  });
});
