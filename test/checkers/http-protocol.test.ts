import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createChecker } from '../../src/checkers/create-checker.js';
import { runCheck } from '../../src/checkers/run-check.js';
import { parseConfigText } from '../../src/config/load.js';
import { healthOptions } from '../../src/reconcile/health-options.js';
import { closeServer, listenLocal } from './support/servers.js';

/** A loopback HTTP server that records each request's head verbatim and answers as HTTP/1.0. */
async function recordingServer(t: { after: (fn: () => Promise<void>) => void }) {
  const heads: string[] = [];
  const server = net.createServer((socket) => {
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (!data.includes('\r\n\r\n') || data.length > 4096) return;
      heads.push(data.slice(0, data.indexOf('\r\n\r\n')));
      socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n');
    });
    socket.on('error', () => {});
  });
  t.after(() => closeServer(server));
  return { port: await listenLocal(server), heads };
}

/** The HTTP_GET checker that `up` would build from this keepalived.conf. */
function checkerFromConf(port: number, protocolLine: string) {
  const { config } = parseConfigText(
    `virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  real_server 127.0.0.1 ${port} {\n    HTTP_GET {\n      url {\n        path /health\n      }\n      ${protocolLine}\n      connect_timeout 2\n    }\n  }\n}\n`,
    'k.conf',
  );
  const vs = config.virtualServers[0];
  assert.ok(vs);
  const options = healthOptions('test', vs, config.global, {});
  const real = options.reals[0];
  assert.ok(real?.checkers[0]);
  return createChecker(real.checkers[0], { address: real.address, port: real.port }).checker;
}

for (const [line, requestLine, connection] of [
  ['', 'GET /health HTTP/1.0', undefined],
  ['http_protocol 1.0', 'GET /health HTTP/1.0', undefined],
  ['http_protocol 1.0C', 'GET /health HTTP/1.0', 'close'],
  ['http_protocol 1.1', 'GET /health HTTP/1.1', 'close'],
] as const) {
  test(`HTTP_GET with '${line || 'no http_protocol'}' sends ${requestLine}${connection ? ' with Connection: close' : ''}`, async (t) => {
    const { port, heads } = await recordingServer(t);
    assert.deepEqual(await runCheck(checkerFromConf(port, line)), { ok: true });
    assert.equal(heads.length, 1);
    const [first, ...headers] = (heads[0] ?? '').split('\r\n');
    assert.equal(first, requestLine);
    const sent = headers
      .find((h) => /^connection:/i.test(h))
      ?.split(':')[1]
      ?.trim();
    assert.equal(sent?.toLowerCase(), connection);
    assert.ok(headers.some((h) => h === `Host: 127.0.0.1:${port}`));
  });
}

test('an HTTP/1.0 answer that is not HTTP, or is cut short of its Content-Length, fails the check', async (t) => {
  for (const answer of [
    'SSH-2.0-OpenSSH\r\n\r\n',
    'HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc',
  ]) {
    const server = net.createServer((socket) => {
      socket.on('data', () => socket.end(answer));
      socket.on('error', () => {});
    });
    t.after(() => closeServer(server));
    const port = await listenLocal(server);
    const result = await runCheck(checkerFromConf(port, ''));
    assert.equal(result.ok, false, answer);
  }
});
