import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { runCheck } from '../../src/checkers/run-check.js';
import { SmtpChecker } from '../../src/checkers/smtp-check.js';
import { waitFor } from '../support/wait.js';
import { closeServer, listenLocal } from './support/servers.js';

/** A scripted SMTP server: `banner` on connect, `heloReply` to HELO. */
async function startSmtp(
  t: { after: (fn: () => Promise<void>) => void },
  banner: string,
  heloReply: string,
) {
  const lines: string[] = [];
  const server = net.createServer((socket) => {
    socket.setEncoding('latin1');
    socket.on('error', () => {});
    socket.write(banner);
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        lines.push(line);
        if (line.startsWith('HELO')) socket.write(heloReply);
        if (line === 'QUIT') socket.end('221 bye\r\n');
      }
    });
  });
  t.after(() => closeServer(server));
  return { port: await listenLocal(server), lines };
}

/** Generous for checks that should pass (a loaded machine is slow); short where the timeout is the subject. */
function smtp(port: number, heloName?: string, connectTimeoutMs = 5000) {
  return new SmtpChecker({
    connectIp: '127.0.0.1',
    connectPort: port,
    connectTimeoutMs,
    ...(heloName !== undefined ? { heloName } : {}),
  });
}

describe('SMTP_CHECK against a local SMTP server', () => {
  it("is up on banner 220 and HELO 250, with keepalived's default HELO name", async (t) => {
    const server = await startSmtp(t, '220 mx ESMTP\r\n', '250 mx\r\n');
    assert.deepEqual(await runCheck(smtp(server.port)), { ok: true });
    // The server may read QUIT after the checker is done.
    await waitFor('the server to read QUIT', () => server.lines.includes('QUIT'));
    assert.deepEqual(server.lines, ['HELO smtpchecker.keepalived.org', 'QUIT']);
  });

  it('reads multi-line replies and sends helo_name', async (t) => {
    const server = await startSmtp(
      t,
      '220-mx\r\n220-more\r\n220 ready\r\n',
      '250-mx\r\n250 ok\r\n',
    );
    assert.deepEqual(await runCheck(smtp(server.port, 'lb1.example.test')), { ok: true });
    assert.equal(server.lines[0], 'HELO lb1.example.test');
  });

  it('fails on a refusing banner or a rejected HELO', async (t) => {
    const busy = await startSmtp(t, '554 go away\r\n', '250 ok\r\n');
    assert.deepEqual(await runCheck(smtp(busy.port)), {
      ok: false,
      reason: 'banner code 554, expected 220',
    });
    const picky = await startSmtp(t, '220 mx\r\n', '501 bad HELO\r\n');
    assert.deepEqual(await runCheck(smtp(picky.port)), {
      ok: false,
      reason: 'HELO answered 501, expected 250',
    });
  });

  it('times out on a server that never greets', async (t) => {
    const server = await startSmtp(t, '', '');
    assert.deepEqual(await runCheck(smtp(server.port, undefined, 500)), {
      ok: false,
      reason: 'timeout after 500 ms',
    });
  });
});
