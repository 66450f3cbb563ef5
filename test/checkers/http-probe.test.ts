import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { HttpGetChecker } from '../../src/checkers/http-get-check.js';
import { runCheck } from '../../src/checkers/run-check.js';
import { closeServer, listenLocal } from './support/servers.js';

type Answer = (socket: net.Socket) => void;

/** A loopback server that answers each request's head with `answer`. */
async function scripted(t: { after: (fn: () => Promise<void>) => void }, answer: Answer) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const before = head.includes('\r\n\r\n');
      head += chunk;
      if (!before && head.includes('\r\n\r\n')) answer(socket);
    });
  });
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await closeServer(server);
  });
  return listenLocal(server);
}

/** HTTP_GET of /x without digest: the addon's exchange (src/checkers/tcp-probe.ts). */
function check(port: number, connectTimeoutMs = 5_000) {
  return runCheck(
    new HttpGetChecker({
      connectIp: '127.0.0.1',
      connectPort: port,
      connectTimeoutMs,
      urls: [{ path: '/x' }],
    }),
  );
}

describe('HTTP_GET through the prober (HTTP/1.0, no digest)', () => {
  it('is up once Content-Length bytes arrived, though the server keeps the connection', async (t) => {
    const port = await scripted(t, (s) =>
      s.write('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc'),
    );
    assert.deepEqual(await check(port, 2_000), { ok: true });
  });

  it('reads a body without Content-Length to the server close, over many reads', async (t) => {
    const body = 'y'.repeat(400 * 1024);
    const port = await scripted(t, (s) =>
      s.end(`HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n${body}`),
    );
    assert.deepEqual(await check(port), { ok: true });
  });

  it('fails on a status outside the accepted codes at once, without waiting for the body', async (t) => {
    const port = await scripted(t, (s) => s.write('HTTP/1.0 503 Busy\r\n\r\nstill coming'));
    assert.deepEqual(await check(port, 2_000), { ok: false, reason: 'status 503 (GET /x)' });
  });

  for (const [answer, reason] of [
    ['SSH-2.0-OpenSSH_9.2\r\n\r\n', 'malformed status line "SSH-2.0-OpenSSH_9.2"'],
    ['HTTP/1.0 200\r\n\r\n', 'ok'],
    ['HTTP/1.0 2000 OK\r\n\r\n', 'malformed status line "HTTP/1.0 2000 OK"'],
    [
      'HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc',
      'connection closed before the whole body arrived',
    ],
    ['HTTP/1.0 200 OK\r\nContent', 'connection closed before a response'],
    ['', 'connection closed before a response'],
  ] as const) {
    it(`answers ${JSON.stringify(answer)} then closes: ${reason}`, async (t) => {
      const port = await scripted(t, (s) => s.end(answer));
      const result = await check(port);
      assert.deepEqual(result, reason === 'ok' ? { ok: true } : { ok: false, reason });
    });
  }

  it('reads a head that arrives in many small pieces', async (t) => {
    const answer = 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const port = await scripted(t, (s) => {
      s.setNoDelay(true);
      let i = 0;
      const next = (): void => {
        if (s.destroyed) return;
        if (i < answer.length) s.write(answer[i++] as string, () => setTimeout(next, 1));
      };
      next();
    });
    assert.deepEqual(await check(port), { ok: true });
  });

  it('words the same failures as the Node path (a url with a digest takes it)', async (t) => {
    for (const answer of [
      'SSH-2.0-OpenSSH_9.2\r\n\r\n',
      'HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc',
      'HTTP/1.0 200 OK\r\nContent',
      'HTTP/1.0 503 Busy\r\n\r\n',
    ]) {
      const port = await scripted(t, (s) => s.end(answer));
      const viaProber = await check(port);
      const viaNode = await runCheck(
        new HttpGetChecker({
          connectIp: '127.0.0.1',
          connectPort: port,
          connectTimeoutMs: 5_000,
          urls: [{ path: '/x', digest: '0'.repeat(32) }],
        }),
      );
      assert.equal(viaProber.ok, false, answer);
      assert.deepEqual(viaNode, viaProber, answer);
    }
  });

  it('refuses a head past 16 KiB', async (t) => {
    const port = await scripted(t, (s) =>
      s.write(`HTTP/1.0 200 OK\r\nX-Big: ${'z'.repeat(20_000)}`),
    );
    assert.deepEqual(await check(port, 2_000), {
      ok: false,
      reason: 'response headers exceed 16384 bytes',
    });
  });

  it('reports a reset in the middle of the body', async (t) => {
    const port = await scripted(t, (s) => {
      s.write('HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nabc', () => s.resetAndDestroy());
    });
    assert.deepEqual(await check(port), { ok: false, reason: 'connection reset' });
  });

  it('times out on a server that accepts and never answers', async (t) => {
    const port = await scripted(t, () => {});
    assert.deepEqual(await check(port, 300), { ok: false, reason: 'timeout after 300 ms' });
  });
});
