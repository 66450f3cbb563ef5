import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsChecker } from '../../src/checkers/dns-check.js';
import { decodeResponse, encodeQuery } from '../../src/checkers/dns-message.js';
import { runCheck } from '../../src/checkers/run-check.js';
import { type DnsAnswerPlan, startDnsResponder } from './support/dns-responder.js';
import { unusedPort } from './support/servers.js';

async function withResponder(t: { after: (fn: () => Promise<void>) => void }, plan: DnsAnswerPlan) {
  const responder = await startDnsResponder(() => plan);
  t.after(responder.close);
  return responder;
}

/** Generous for answers that should arrive (a loaded machine is slow); short where the timeout is the subject. */
function dns(port: number, type?: string, name?: string, connectTimeoutMs = 5000) {
  return new DnsChecker({
    connectIp: '127.0.0.1',
    connectPort: port,
    connectTimeoutMs,
    ...(type !== undefined ? { type } : {}),
    ...(name !== undefined ? { name } : {}),
  });
}

describe('DNS_CHECK against a local responder', () => {
  it('is up when the answer has NOERROR and a record of the queried type', async (t) => {
    const responder = await withResponder(t, { answerTypes: [5, 1] });
    assert.deepEqual(await runCheck(dns(responder.port, 'A', 'www.example.test')), { ok: true });
    const question = responder.queries[0]?.subarray(12);
    assert.deepEqual(question, encodeQuery(0, 'www.example.test', 1).subarray(12));
  });

  it('asks SOA for "." by default', async (t) => {
    const responder = await withResponder(t, { answerTypes: [6] });
    assert.deepEqual(await runCheck(dns(responder.port)), { ok: true });
    assert.deepEqual(responder.queries[0]?.subarray(12), Buffer.from([0, 0, 6, 0, 1]));
  });

  it('fails on an RCODE other than NOERROR', async (t) => {
    const responder = await withResponder(t, { rcode: 3 });
    assert.deepEqual(await runCheck(dns(responder.port, 'A', 'gone.example.test')), {
      ok: false,
      reason: 'answer NXDOMAIN',
    });
  });

  it('fails when no answer has the queried type', async (t) => {
    const responder = await withResponder(t, { answerTypes: [5] });
    assert.deepEqual(await runCheck(dns(responder.port, 'AAAA', 'www.example.test')), {
      ok: false,
      reason: 'no AAAA record for www.example.test',
    });
  });

  it('ignores an answer carrying another id', async (t) => {
    const responder = await withResponder(t, { answerTypes: [1], staleFirst: true });
    assert.deepEqual(await runCheck(dns(responder.port, 'A', 'a.test')), { ok: true });
  });

  it('times out on a silent server and reports port unreachable on a closed one', async (t) => {
    const responder = await withResponder(t, { silent: true });
    assert.deepEqual(await runCheck(dns(responder.port, 'A', 'a.test', 400)), {
      ok: false,
      reason: 'timeout after 400 ms',
    });
    assert.deepEqual(await runCheck(dns(await unusedPort(), 'A', 'a.test')), {
      ok: false,
      reason: 'port unreachable',
    });
  });

  it('rejects unknown types and bad names when built', () => {
    assert.throws(() => dns(53, 'PTRX'), /Cannot use DNS_CHECK type "PTRX"/);
    assert.throws(() => dns(53, 'A', `${'a'.repeat(64)}.test`), /1 to 63 characters/);
    assert.throws(() => dns(53, 'A', 'a..b'), /1 to 63 characters/);
  });

  it('decodes defensively', () => {
    assert.throws(() => decodeResponse(Buffer.alloc(5)), /shorter than a header/);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(1, 6); // one answer that is not there
    assert.throws(() => decodeResponse(header), /truncated/);
  });
});
