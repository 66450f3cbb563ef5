import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EchoReply, EchoRequest, IcmpEchoer } from '../../src/checkers/icmp-echoer.js';
import { PingChecker } from '../../src/checkers/ping-check.js';
import { runCheck } from '../../src/checkers/run-check.js';

/** Answers echo requests per `behaviour`, recording what was asked. */
class FakeEchoer implements IcmpEchoer {
  readonly requests: Omit<EchoRequest, 'signal'>[] = [];
  constructor(private readonly behaviour: 'reply' | 'unreachable' | 'lost') {}

  echo(request: EchoRequest): Promise<EchoReply> {
    const { signal, ...rest } = request;
    this.requests.push(rest);
    if (this.behaviour === 'reply') return Promise.resolve({ rttMs: 0.2 });
    if (this.behaviour === 'unreachable') {
      return Promise.reject(
        Object.assign(new Error('send EHOSTUNREACH'), { code: 'EHOSTUNREACH' }),
      );
    }
    return new Promise((_, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason)),
    );
  }
}

function ping(echoer: IcmpEchoer) {
  return new PingChecker(
    { connectIp: '192.0.2.10', bindTo: '192.0.2.1', connectTimeoutMs: 200 },
    echoer,
  );
}

describe('PING_CHECK over the IcmpEchoer interface', () => {
  it('is up when the echo comes back, from bindto to connect_ip', async () => {
    const echoer = new FakeEchoer('reply');
    assert.deepEqual(await runCheck(ping(echoer)), { ok: true });
    assert.equal(echoer.requests[0]?.address, '192.0.2.10');
    assert.equal(echoer.requests[0]?.bindTo, '192.0.2.1');
  });

  it('is down with the kernel error when the host is unreachable', async () => {
    assert.deepEqual(await runCheck(ping(new FakeEchoer('unreachable'))), {
      ok: false,
      reason: 'host unreachable',
    });
  });

  it('is down after connect_timeout when the echo is lost', async () => {
    assert.deepEqual(await runCheck(ping(new FakeEchoer('lost'))), {
      ok: false,
      reason: 'timeout after 200 ms',
    });
  });
});
