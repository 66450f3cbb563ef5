import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_TIMEOUTS } from '../../src/dataplane/dataplane.js';
import { IpvsServiceIndex } from '../../src/sync/ipvs-connection-entry.js';
import {
  decodeSyncMessage,
  IPVS_SYNC_DEFAULT_MAXLEN,
  type SyncConnection,
} from '../../src/sync/ipvs-sync-codec.js';
import {
  handOffIpvsConnections,
  IPVS_HANDOFF_BOUNDS,
  type IpvsHandoffBounds,
} from '../../src/sync/ipvs-table-handoff.js';
import type { SyncSender } from '../../src/sync/multicast-transport.js';
import { FakeClock } from '../../src/time/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'lbctl-handoff-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData';
const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');

/** /proc/net/ip_vs_conn with one row per client port: ESTABLISHED rows expiring in `expires(i)` s. */
function table(count: number, expires: (i: number) => number, extra: string[] = []): string {
  const path = join(dir, `conn-${count}-${Math.random().toString(36).slice(2)}`);
  const rows = Array.from(
    { length: count },
    (_, i) =>
      `TCP 0A4F0002 ${hex(10_000 + i, 4)} 0A4F0064 0050 0A4F000B 0050 ESTABLISHED ${expires(i)}`,
  );
  writeFileSync(path, `${[HEADER, ...extra, ...rows].join('\n')}\n`);
  return path;
}

const services = new IpvsServiceIndex([
  {
    service: { vip: '10.79.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' },
    reals: [{ address: '10.79.0.11', port: 80, weight: 1, forwarding: 'dr' }],
  },
]);

/** Records what is sent and how long flush was given. */
function recordingSender(): SyncSender & { messages: Buffer[]; flushes: number[] } {
  const messages: Buffer[] = [];
  const flushes: number[] = [];
  return {
    messages,
    flushes,
    send: (m) => messages.push(m),
    flush: async (timeoutMs) => {
      flushes.push(timeoutMs);
    },
    close: () => undefined,
  };
}

function decodeAll(messages: Buffer[]): SyncConnection[] {
  return messages.flatMap((m) => {
    assert.ok(m.length <= IPVS_SYNC_DEFAULT_MAXLEN, `a message of ${m.length} bytes`);
    const decoded = decodeSyncMessage(m, 51);
    assert.ok(decoded.ok, JSON.stringify(decoded));
    return [...decoded.message.connections];
  });
}

async function run(path: string, bounds: IpvsHandoffBounds, pauseMs = 1) {
  const clock = new FakeClock(1000);
  const sender = recordingSender();
  const result = await handOffIpvsConnections({
    services,
    timeouts: DEFAULT_TIMEOUTS,
    syncId: 51,
    maxLength: IPVS_SYNC_DEFAULT_MAXLEN,
    sender,
    clock,
    pause: async () => clock.advance(pauseMs),
    bounds,
    path,
  });
  return { result, sender, sent: decodeAll(sender.messages) };
}

describe('sending the IPVS connection table before a hand-over', () => {
  it('sends every connection once, in maxlen messages, and waits for them to leave', async () => {
    const { result, sender, sent } = await run(
      table(1000, () => 900),
      IPVS_HANDOFF_BOUNDS,
    );
    assert.equal(result.listed, 1000);
    assert.equal(result.sentConnections, 1000);
    assert.equal(new Set(sent.map((c) => c.clientPort)).size, 1000);
    // 40 IPv4 entries per 1472-byte message.
    assert.equal(result.sentMessages, 25);
    assert.equal(sender.messages.length, 25);
    assert.equal(result.cut, undefined);
    assert.equal(result.left, 0);
    assert.equal(sender.flushes.length, 1);
  });

  it('counts what it skips and sends the rest', async () => {
    const { result, sent } = await run(
      table(3, () => 900, [
        'TCP 0A4F0002 0000 0A4F0064 0050 0A4F000B 0050 NONE        300',
        'TCP 0A4F0002 1234 0A4F00C8 0050 0A4F000B 0050 ESTABLISHED 900',
      ]),
      IPVS_HANDOFF_BOUNDS,
    );
    assert.equal(result.listed, 5);
    assert.equal(sent.length, 3);
    assert.deepEqual(result.skipped, { template: 1, noService: 1 });
  });

  it('sends the recently active connections first', async () => {
    // Odd rows idle for 100 s, even rows active within the last 5 s.
    const { sent } = await run(
      table(400, (i) => (i % 2 === 0 ? 898 : 800)),
      IPVS_HANDOFF_BOUNDS,
    );
    assert.equal(sent.length, 400);
    assert.ok(sent.slice(0, 200).every((c) => c.timeoutS === 898));
    assert.ok(sent.slice(200).every((c) => c.timeoutS === 800));
  });

  it('the connection bound keeps the recent connections and leaves idle ones out', async () => {
    // 30 idle rows, then 5 recent ones; room for 10.
    const { result, sent } = await run(
      table(35, (i) => (i < 30 ? 100 : 899)),
      { ...IPVS_HANDOFF_BOUNDS, maxConnections: 10 },
    );
    assert.equal(result.listed, 35);
    assert.equal(sent.length, 10);
    assert.equal(sent.filter((c) => c.timeoutS === 899).length, 5);
    assert.equal(result.cut, 'connections');
    assert.equal(result.left, 25);
  });

  it('the time bound ends the hand-off: what is sent by then goes, the rest is left', async () => {
    // One message per burst, each pause 100 ms of fake time, 1 s in all: about 10 messages.
    const { result, sent, sender } = await run(
      table(2000, () => 900),
      { maxConnections: 100_000, timeMs: 1000, messagesPerBurst: 1 },
      100,
    );
    assert.equal(result.cut, 'time');
    assert.ok(result.sentMessages >= 9 && result.sentMessages <= 11, `${result.sentMessages}`);
    assert.equal(sent.length, result.sentConnections);
    assert.ok(result.sentConnections < 2000);
    assert.ok(result.elapsedMs >= 1000);
    // The last sends still get their moment to leave.
    assert.ok((sender.flushes[0] ?? 0) > 0);
  });
});
