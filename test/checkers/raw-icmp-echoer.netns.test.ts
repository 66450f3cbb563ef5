import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createChecker } from '../../src/checkers/create-checker.js';
import { RawIcmpEchoer } from '../../src/checkers/raw-icmp-echoer.js';
import { runCheck } from '../../src/checkers/run-check.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { runIn } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { teardown } from '../support/teardown.js';

const PAYLOAD = Buffer.from('probe');
/** For echoes that should be answered: generous, a loaded machine is slow. */
const ANSWERED_WITHIN_MS = 10_000;

describe('RawIcmpEchoer over raw IP sockets', () => {
  const host = uniqueName('lbt-ih-');
  const router = uniqueName('lbt-ir-');
  let echoer: RawIcmpEchoer;

  before(async () => {
    await createNamespace(host);
    await createNamespace(router);
    await createVethPair(
      { namespace: host, name: 'ih0', address: '10.234.0.1/24' },
      { namespace: router, name: 'ir0', address: '10.234.0.2/24' },
    );
    await runIn(host, 'ip', ['route', 'add', '10.235.0.0/24', 'via', '10.234.0.2']);
    // nodad: a tentative address drops what is sent to it, for a second or two.
    await runIn(host, 'ip', ['addr', 'add', 'fd00:234::1/64', 'dev', 'ih0', 'nodad']);
    await runIn(router, 'ip', ['addr', 'add', 'fd00:234::2/64', 'dev', 'ir0', 'nodad']);
    // The router knows no way on: it answers with ICMP host unreachable.
    await runIn(router, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await runIn(router, 'ip', ['route', 'add', 'unreachable', '10.235.0.0/24']);
    echoer = await withinNamespace(host, () => {
      const e = new RawIcmpEchoer(0x1234);
      e.open(4);
      e.open(6);
      return e;
    });
  });
  teardown(async () => {
    echoer?.close();
    await deleteNamespace(host);
    await deleteNamespace(router);
  });

  it('gets echo replies over IPv4 and IPv6 with round-trip times', async () => {
    const v4 = await echoer.echo({
      address: '10.234.0.2',
      payload: PAYLOAD,
      signal: AbortSignal.timeout(ANSWERED_WITHIN_MS),
    });
    assert.ok(v4.rttMs >= 0 && v4.rttMs < ANSWERED_WITHIN_MS);
    const v6 = await echoer.echo({
      address: 'fd00:234::2',
      payload: PAYLOAD,
      signal: AbortSignal.timeout(ANSWERED_WITHIN_MS),
    });
    assert.ok(v6.rttMs >= 0 && v6.rttMs < ANSWERED_WITHIN_MS);
  });

  it('matches concurrent requests to their own replies', async () => {
    const replies = await Promise.all(
      [1, 2, 3, 4].map(() =>
        echoer.echo({
          address: '10.234.0.2',
          payload: PAYLOAD,
          signal: AbortSignal.timeout(ANSWERED_WITHIN_MS),
        }),
      ),
    );
    assert.equal(replies.length, 4);
  });

  it('fails at once with host unreachable when a router says so', async () => {
    const started = performance.now();
    await assert.rejects(
      echoer.echo({
        address: '10.235.0.7',
        payload: PAYLOAD,
        signal: AbortSignal.timeout(ANSWERED_WITHIN_MS),
      }),
      (err: NodeJS.ErrnoException) => err.code === 'EHOSTUNREACH',
    );
    assert.ok(
      performance.now() - started < ANSWERED_WITHIN_MS / 2,
      'answered by ICMP, not by the timeout',
    );
  });

  it('gives up when the signal aborts and no reply came', async () => {
    // On-link but nobody there: no reply and no error within the deadline.
    await assert.rejects(
      echoer.echo({ address: '10.234.0.99', payload: PAYLOAD, signal: AbortSignal.timeout(200) }),
      (err: Error) => err.name === 'TimeoutError',
    );
  });

  it('drives PING_CHECK up and down through createChecker', async () => {
    const up = createChecker(
      { type: 'PING_CHECK', connectTimeoutMs: ANSWERED_WITHIN_MS },
      { address: '10.234.0.2', port: 80 },
      [],
      { icmpEchoer: echoer },
    );
    assert.deepEqual(await runCheck(up.checker), { ok: true });
    const down = createChecker(
      { type: 'PING_CHECK', connectTimeoutMs: ANSWERED_WITHIN_MS },
      { address: '10.235.0.9', port: 80 },
      [],
      { icmpEchoer: echoer },
    );
    assert.deepEqual(await runCheck(down.checker), { ok: false, reason: 'host unreachable' });
  });
});
