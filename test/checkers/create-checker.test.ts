import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createChecker } from '../../src/checkers/create-checker.js';
import type { IcmpEchoer } from '../../src/checkers/icmp-echoer.js';

const REAL = { address: '10.0.0.7', port: 80 };

describe('building checkers from options', () => {
  it('applies keepalived defaults per checker type', () => {
    const tcp = createChecker({ type: 'TCP_CHECK' }, REAL);
    assert.deepEqual(tcp.policy, {
      delayLoopMs: 60_000,
      retry: 1,
      delayBeforeRetryMs: 1_000,
      warmupMs: 60_000,
      alpha: false,
    });
    assert.equal(tcp.checker.timeoutMs, 5_000);
    assert.equal(tcp.checker.target, '10.0.0.7:80');

    const http = createChecker({ type: 'HTTP_GET', urls: [{ path: '/' }] }, REAL);
    assert.equal(http.policy.delayBeforeRetryMs, 3_000);
    const dns = createChecker({ type: 'DNS_CHECK', delayLoopMs: 6_000 }, REAL);
    assert.equal(dns.policy.retry, 3);
    assert.equal(dns.policy.delayBeforeRetryMs, 6_000);
    const misc = createChecker({ type: 'MISC_CHECK', path: '/bin/true' }, REAL, [
      { delayLoopMs: 6_000 },
    ]);
    assert.equal(misc.policy.retry, 0);
    assert.equal(misc.checker.timeoutMs, 6_000, 'misc_timeout defaults to delay_loop');
  });

  it('takes the nearest setting: checker, then real server, then virtual server', () => {
    const built = createChecker(
      { type: 'TCP_CHECK', retry: 5, connectPort: 8080, connectIp: '10.0.0.9' },
      REAL,
      [
        { retry: 4, delayLoopMs: 6_000, alpha: true },
        { retry: 3, delayLoopMs: 9_000, warmupMs: 0, connectTimeoutMs: 8_000 },
      ],
    );
    assert.deepEqual(built.policy, {
      delayLoopMs: 6_000,
      retry: 5,
      delayBeforeRetryMs: 1_000,
      warmupMs: 0,
      alpha: true,
    });
    assert.equal(built.checker.target, '10.0.0.9:8080');
    assert.equal(built.checker.timeoutMs, 8_000);
  });

  it('names the checker and real server in option errors', () => {
    assert.throws(
      () => createChecker({ type: 'TCP_CHECK', connectPort: 70_000 }, REAL),
      /Cannot build TCP_CHECK of real server 10\.0\.0\.7:80: connect_port 70000 is not a port/,
    );
    assert.throws(
      () => createChecker({ type: 'TCP_CHECK', connectIp: 'rs1' }, REAL),
      /connect_ip "rs1" is not an IP address/,
    );
    assert.throws(
      () => createChecker({ type: 'TCP_CHECK', retry: -1 }, REAL),
      /retry -1 must be an integer >= 0/,
    );
    assert.throws(() => createChecker({ type: 'PING_CHECK' }, REAL), /no ICMP echo socket/);
    try {
      createChecker({ type: 'UDP_CHECK', payload: 'zz' }, REAL);
      assert.fail('expected an error');
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'CHECKER_INVALID_OPTION');
    }
  });

  it('builds PING_CHECK on an injected echoer', () => {
    const echoer: IcmpEchoer = { echo: () => Promise.resolve({ rttMs: 1 }) };
    const built = createChecker({ type: 'PING_CHECK' }, REAL, [], { icmpEchoer: echoer });
    assert.equal(built.checker.kind, 'PING_CHECK');
    assert.equal(built.checker.target, '10.0.0.7');
  });
});
