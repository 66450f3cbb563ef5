import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { matchesPattern, parseHexPattern } from '../../src/checkers/hex-pattern.js';
import { runCheck } from '../../src/checkers/run-check.js';
import { UdpChecker, type UdpCheckOptions } from '../../src/checkers/udp-check.js';
import { unusedPort } from './support/servers.js';

/** A UDP server answering each datagram with `reply(datagram)`, or nothing for undefined. */
async function startUdpServer(
  t: { after: (fn: () => Promise<void>) => void },
  reply: (data: Buffer) => Buffer | undefined,
) {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (data, peer) => {
    received.push(data);
    const answer = reply(data);
    if (answer !== undefined) socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((r) => socket.close(() => r())));
  return { port: (socket.address() as AddressInfo).port, received };
}

/** Generous for answers that should arrive (a loaded machine is slow); tests whose subject is the timeout pass 300 ms. */
function udp(port: number, extra: Partial<UdpCheckOptions> = {}) {
  return new UdpChecker({
    connectIp: '127.0.0.1',
    connectPort: port,
    connectTimeoutMs: 5000,
    ...extra,
  });
}
const SHORT = { connectTimeoutMs: 300 };

describe('UDP_CHECK against local UDP servers', () => {
  it('sends the payload and, without require_reply, is up when nothing goes wrong', async (t) => {
    const server = await startUdpServer(t, () => undefined);
    const started = performance.now();
    assert.deepEqual(await runCheck(udp(server.port, { ...SHORT, payload: 'de ad be ef' })), {
      ok: true,
    });
    assert.ok(performance.now() - started >= 290, 'waited connect_timeout for an ICMP error');
    assert.deepEqual(server.received, [Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
  });

  it('is down on ICMP port unreachable', async () => {
    assert.deepEqual(await runCheck(udp(await unusedPort())), {
      ok: false,
      reason: 'port unreachable',
    });
  });

  it('with require_reply needs a reply within connect_timeout', async (t) => {
    const echo = await startUdpServer(t, (d) => d);
    assert.deepEqual(await runCheck(udp(echo.port, { requireReply: true })), { ok: true });
    const silent = await startUdpServer(t, () => undefined);
    assert.deepEqual(await runCheck(udp(silent.port, { ...SHORT, requireReply: true })), {
      ok: false,
      reason: 'timeout after 300 ms',
    });
  });

  it('matches the reply against the require_reply pattern with X wildcards', async (t) => {
    const server = await startUdpServer(t, () => Buffer.from([0x12, 0x34, 0x56, 0x78]));
    const ok = await runCheck(udp(server.port, { requireReply: '12 3x 56' }));
    assert.deepEqual(ok, { ok: true });
    const bad = await runCheck(udp(server.port, { requireReply: '12 35' }));
    assert.deepEqual(bad, { ok: false, reason: 'reply does not match require_reply' });
  });

  it('checks min_reply_length and max_reply_length', async (t) => {
    const server = await startUdpServer(t, () => Buffer.alloc(10));
    assert.deepEqual(await runCheck(udp(server.port, { requireReply: true, minReplyLength: 11 })), {
      ok: false,
      reason: 'reply of 10 bytes outside 11..255',
    });
    assert.deepEqual(await runCheck(udp(server.port, { requireReply: true, maxReplyLength: 9 })), {
      ok: false,
      reason: 'reply of 10 bytes outside 0..9',
    });
    assert.throws(() => udp(1, { minReplyLength: 5, maxReplyLength: 4 }), /exceeds/);
  });

  it('reads keepalived HEX_STR notation', () => {
    assert.deepEqual(
      parseHexPattern('Ab12f 3 456 546443123', false).bytes,
      Buffer.from([0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]),
    );
    const wild = parseHexPattern('1x', true);
    assert.ok(matchesPattern(Buffer.from([0x1f]), wild));
    assert.ok(!matchesPattern(Buffer.from([0x2f]), wild));
    assert.throws(() => parseHexPattern('1x', false), /"x" is not a hex digit/);
  });
});
