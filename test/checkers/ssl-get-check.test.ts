import assert from 'node:assert/strict';
import https from 'node:https';
import { before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { HttpGetChecker, type TlsOptions } from '../../src/checkers/http-get-check.js';
import { runCheck } from '../../src/checkers/run-check.js';
import { selfSignedCertificate } from './support/self-signed.js';
import { closeServer, listenLocal } from './support/servers.js';

const NAME = 'rs1.lbctl.test';

describe('SSL_GET against a local TLS server with a self-signed certificate', () => {
  let pem: { cert: string; key: string };
  before(async () => {
    pem = await selfSignedCertificate(NAME);
  });

  async function startServer(t: { after: (fn: () => Promise<void>) => void }) {
    const serverNames: (string | false | null)[] = [];
    const server = https.createServer({ cert: pem.cert, key: pem.key }, (req, res) => {
      serverNames.push((req.socket as TLSSocket).servername);
      res.writeHead(req.url === '/down' ? 503 : 200);
      res.end('secure');
    });
    t.after(() => closeServer(server));
    return { port: await listenLocal(server), serverNames };
  }

  function checker(port: number, tls: TlsOptions, path = '/', virtualhost?: string) {
    return new HttpGetChecker({
      connectIp: '127.0.0.1',
      connectPort: port,
      // Generous: a TLS handshake on a loaded machine is slow, and no check here should time out.
      connectTimeoutMs: 5_000,
      urls: [{ path }],
      tls,
      ...(virtualhost !== undefined ? { virtualhost } : {}),
    });
  }

  it('is up without verifying the certificate (the default), and sends no SNI', async (t) => {
    const { port, serverNames } = await startServer(t);
    const check = checker(port, {}, '/', NAME);
    assert.equal(check.kind, 'SSL_GET');
    assert.deepEqual(await runCheck(check), { ok: true });
    assert.deepEqual(serverNames, [false]);
  });

  it('checks the status over TLS', async (t) => {
    const { port } = await startServer(t);
    const result = await runCheck(checker(port, {}, '/down'));
    assert.match(result.reason ?? '', /^status 503/);
  });

  it('sends the virtualhost as SNI with enable_sni', async (t) => {
    const { port, serverNames } = await startServer(t);
    assert.deepEqual(await runCheck(checker(port, { enableSni: true }, '/', NAME)), { ok: true });
    assert.deepEqual(serverNames, [NAME]);
  });

  it('fails an untrusted certificate when verification is on', async (t) => {
    const { port } = await startServer(t);
    const result = await runCheck(checker(port, { verify: true, enableSni: true }, '/', NAME));
    assert.equal(result.ok, false);
    assert.match(result.reason ?? '', /self[- ]signed/i);
  });

  it('accepts the certificate when verification is on and it is the configured CA', async (t) => {
    const { port } = await startServer(t);
    const result = await runCheck(
      checker(port, { verify: true, enableSni: true, ca: pem.cert }, '/', NAME),
    );
    assert.deepEqual(result, { ok: true });
  });

  it('verifies the certificate against the virtualhost even without SNI', async (t) => {
    const { port } = await startServer(t);
    const right = await runCheck(checker(port, { verify: true, ca: pem.cert }, '/', NAME));
    assert.deepEqual(right, { ok: true });
    const wrong = await runCheck(
      checker(port, { verify: true, ca: pem.cert }, '/', 'other.lbctl.test'),
    );
    assert.equal(wrong.ok, false);
    assert.match(wrong.reason ?? '', /other\.lbctl\.test/);
  });
});
