import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { describe, it } from 'node:test';
import { HttpGetChecker, type HttpUrlOptions } from '../../src/checkers/http-get-check.js';
import { runCheck } from '../../src/checkers/run-check.js';
import { parseStatusCodes } from '../../src/checkers/status-codes.js';
import { closeServer, listenLocal, unusedPort } from './support/servers.js';

const BODY = 'hello from RS1\n';
const BODY_MD5 = createHash('md5').update(BODY).digest('hex');

async function startServer(t: { after: (fn: () => Promise<void>) => void }) {
  const hosts: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    hosts.push(req.headers.host);
    const status = /^\/status\/(\d{3})$/.exec(req.url ?? '');
    if (status !== null) {
      res.writeHead(Number(status[1]));
      res.end(BODY);
    } else if (req.url === '/hang') {
      // Never answers.
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(BODY);
    }
  });
  t.after(() => closeServer(server));
  const port = await listenLocal(server);
  return { port, hosts };
}

/** Generous for answers that should arrive (a loaded machine is slow); short where the timeout is the subject. */
function checker(
  port: number,
  urls: HttpUrlOptions[],
  extra: { virtualhost?: string; connectTimeoutMs?: number } = {},
) {
  return new HttpGetChecker({
    connectIp: '127.0.0.1',
    connectPort: port,
    connectTimeoutMs: 5000,
    urls,
    ...extra,
  });
}

describe('HTTP_GET against a local HTTP server', () => {
  it('is up on a 2xx by default', async (t) => {
    const { port } = await startServer(t);
    assert.deepEqual(await runCheck(checker(port, [{ path: '/' }])), { ok: true });
  });

  it('fails with the status outside the accepted codes', async (t) => {
    const { port } = await startServer(t);
    const result = await runCheck(checker(port, [{ path: '/status/503' }]));
    assert.equal(result.ok, false);
    assert.match(result.reason ?? '', /^status 503 \(GET \/status\/503\)$/);
  });

  it('accepts the codes and ranges of status_code', async (t) => {
    const { port } = await startServer(t);
    const statusCodes = parseStatusCodes('200-299 503');
    assert.deepEqual(await runCheck(checker(port, [{ path: '/status/503', statusCodes }])), {
      ok: true,
    });
    const onlyRedirect = parseStatusCodes(['301']);
    const result = await runCheck(checker(port, [{ path: '/', statusCodes: onlyRedirect }]));
    assert.match(result.reason ?? '', /^status 200/);
  });

  it('checks the MD5 digest of the body', async (t) => {
    const { port } = await startServer(t);
    assert.deepEqual(await runCheck(checker(port, [{ path: '/', digest: BODY_MD5 }])), {
      ok: true,
    });
    const result = await runCheck(checker(port, [{ path: '/', digest: 'a'.repeat(32) }]));
    assert.equal(result.ok, false);
    assert.match(result.reason ?? '', /^digest mismatch \(GET \/\): got [0-9a-f]{32}$/);
  });

  it('requires every url to pass, in order', async (t) => {
    const { port } = await startServer(t);
    const result = await runCheck(
      checker(port, [{ path: '/' }, { path: '/status/404' }, { path: '/status/500' }]),
    );
    assert.match(result.reason ?? '', /^status 404/);
  });

  it('sends the virtualhost as the Host header, the url overriding the checker', async (t) => {
    const { port, hosts } = await startServer(t);
    await runCheck(checker(port, [{ path: '/' }], { virtualhost: 'www.example.test' }));
    await runCheck(
      checker(port, [{ path: '/', virtualhost: 'url.example.test' }], {
        virtualhost: 'www.example.test',
      }),
    );
    await runCheck(checker(port, [{ path: '/' }]));
    assert.deepEqual(hosts, ['www.example.test', 'url.example.test', `127.0.0.1:${port}`]);
  });

  it('times out on a server that never answers', async (t) => {
    const { port } = await startServer(t);
    const started = performance.now();
    const result = await runCheck(checker(port, [{ path: '/hang' }], { connectTimeoutMs: 400 }));
    assert.deepEqual(result, { ok: false, reason: 'timeout after 400 ms' });
    // Well under the 5 s the other checks get, yet loose enough for a loaded machine.
    assert.ok(performance.now() - started < 3_000);
  });

  it('reports "connection refused" when the server is stopped', async () => {
    const port = await unusedPort();
    assert.deepEqual(await runCheck(checker(port, [{ path: '/' }])), {
      ok: false,
      reason: 'connection refused',
    });
  });

  it('rejects bad options when built', () => {
    assert.throws(() => checker(80, []), /no url block/);
    assert.throws(() => checker(80, [{ path: 'x' }]), /must start with "\/"/);
    assert.throws(() => checker(80, [{ path: '/', digest: 'zz' }]), /not 32 hex digits/);
    assert.throws(() => parseStatusCodes('299-200'), /Cannot use status_code "299-200"/);
    assert.throws(() => parseStatusCodes('abc'), /expected a code or range/);
  });
});
