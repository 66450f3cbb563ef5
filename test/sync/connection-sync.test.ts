import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ConnectionSyncPort,
  type LearnCounts,
  noLearnCounts,
  type SyncedFlow,
} from '../../src/dataplane/connection-sync.js';
import { silentLogger } from '../../src/log.js';
import {
  ConnectionSync,
  type ConnectionSyncSettings,
  MAX_MESSAGES_PER_INTERVAL,
  SEND_INTERVAL_MS,
} from '../../src/sync/connection-sync.js';
import { toSyncConnection } from '../../src/sync/flow-mapping.js';
import { decodeSyncMessage, encodeSyncMessage } from '../../src/sync/ipvs-sync-codec.js';
import { FakeClock } from '../../src/time/fake-clock.js';

const settings: ConnectionSyncSettings = {
  interface: 'eth0',
  vrrpInstance: 'VI_1',
  syncId: 51,
  maxLength: 1472,
  group: '224.0.0.81',
  port: 8848,
  ttl: 1,
};

const flow = (clientPort: number, over: Partial<SyncedFlow> = {}): SyncedFlow => ({
  protocol: 'tcp',
  family: 'ipv4',
  client: '10.0.0.1',
  clientPort,
  vip: '192.168.10.100',
  vport: 80,
  real: '192.168.10.11',
  realPort: 80,
  forwarding: 'dr',
  established: true,
  closing: false,
  timeoutS: 900,
  ...over,
});

/** A data plane that reports what the test queues and stores what it is given. */
class FakePort implements ConnectionSyncPort {
  reports: SyncedFlow[] = [];
  learnt: SyncedFlow[] = [];
  closed = false;
  takeReports(max: number): SyncedFlow[] {
    return this.reports.splice(0, max);
  }
  async learn(flows: readonly SyncedFlow[]): Promise<LearnCounts> {
    const counts = noLearnCounts();
    for (const f of flows) {
      if (f.vip !== '192.168.10.100') counts.noService++;
      else if (f.real !== '192.168.10.11') counts.noReal++;
      else {
        this.learnt.push(f);
        counts.filled++;
      }
    }
    return counts;
  }
  async lostReports(): Promise<number> {
    return 0;
  }
  close(): void {
    this.closed = true;
  }
}

function harness() {
  const clock = new FakeClock();
  const port = new FakePort();
  const sent: Buffer[] = [];
  const sockets = { senders: 0, receivers: 0, open: 0 };
  let flushes = 0;
  const sync = new ConnectionSync(settings, {
    port,
    clock,
    logger: silentLogger(),
    openSender: async () => {
      sockets.senders++;
      sockets.open++;
      return {
        send: (m) => sent.push(m),
        flush: async () => {
          flushes++;
        },
        close: () => void sockets.open--,
      };
    },
    openReceiver: async () => {
      sockets.receivers++;
      sockets.open++;
      return { close: () => void sockets.open-- };
    },
  });
  return { clock, port, sent, sockets, sync, flushes: () => flushes };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('connection sync roles', () => {
  it('a master sends its data plane reports every interval, in messages up to maxlen', async () => {
    const { clock, port, sent, sync } = harness();
    await sync.setRole('master');
    port.reports.push(...Array.from({ length: 50 }, (_, i) => flow(2000 + i)));
    clock.advance(SEND_INTERVAL_MS);
    // 1472 bytes hold 40 IPv4 entries: two messages.
    assert.deepEqual(
      sent.map((m) => m[4]),
      [40, 10],
    );
    const first = decodeSyncMessage(sent[0] as Buffer, 51);
    assert.ok(first.ok);
    assert.deepEqual(first.message.connections[0], toSyncConnection(flow(2000)));
    assert.equal(sync.counters().sentConnections, 50);
    await sync.close();
  });

  it('a stopping master sends what was reported since the last interval, then closes', async () => {
    const { clock, port, sent, sockets, sync, flushes } = harness();
    await sync.setRole('master');
    port.reports.push(flow(1));
    clock.advance(SEND_INTERVAL_MS);
    port.reports.push(flow(2), flow(3));
    clock.advance(SEND_INTERVAL_MS / 2);
    assert.equal(sent.length, 1);
    await sync.close();
    assert.equal(sent.length, 2, 'the last reports went out at close');
    const last = decodeSyncMessage(sent[1] as Buffer, 51);
    assert.ok(last.ok);
    assert.deepEqual(last.message.connections, [flow(2), flow(3)].map(toSyncConnection));
    assert.equal(flushes(), 1, 'close waited for the sends');
    assert.equal(sockets.open, 0);
    assert.equal(sync.counters().sentConnections, 3);
  });

  it('a stopping backup sends nothing', async () => {
    const { port, sent, sync, flushes } = harness();
    await sync.setRole('backup');
    port.reports.push(flow(1));
    await sync.close();
    assert.equal(sent.length, 0);
    assert.equal(flushes(), 0);
  });

  it('bounds what one interval sends; the rest waits for the next', async () => {
    const { clock, port, sent, sync } = harness();
    await sync.setRole('master');
    port.reports.push(
      ...Array.from({ length: 40 * MAX_MESSAGES_PER_INTERVAL + 5 }, (_, i) => flow(i)),
    );
    clock.advance(SEND_INTERVAL_MS);
    assert.equal(sent.length, MAX_MESSAGES_PER_INTERVAL);
    clock.advance(SEND_INTERVAL_MS);
    assert.equal(sent.length, MAX_MESSAGES_PER_INTERVAL + 1);
    await sync.close();
  });

  it('a backup stores what it receives and counts what it cannot', async () => {
    const { port, sync, sent } = harness();
    await sync.setRole('backup');
    sync.receive(
      encodeSyncMessage(51, [
        toSyncConnection(flow(1)),
        toSyncConnection(flow(2, { vip: '192.168.10.200' })),
        toSyncConnection(flow(3, { real: '192.168.10.99' })),
      ]),
    );
    sync.receive(Buffer.from('garbage'));
    sync.receive(encodeSyncMessage(52, [toSyncConnection(flow(4))]));
    await settle();
    assert.deepEqual(
      port.learnt.map((f) => f.clientPort),
      [1],
    );
    assert.equal(port.learnt[0]?.established, true);
    const c = sync.counters();
    assert.deepEqual(c.droppedMessages, { short: 1, syncid: 1 });
    assert.deepEqual(c.droppedConnections, { noService: 1, noReal: 1 });
    assert.equal(c.receivedMessages, 1);
    assert.equal(c.learnt.filled, 1);
    assert.equal(sent.length, 0);
    await sync.close();
  });

  it('switches sockets with the role, and a master ignores received messages', async () => {
    const { port, sync, sockets, clock, sent } = harness();
    await sync.setRole('backup');
    assert.deepEqual({ ...sockets }, { senders: 0, receivers: 1, open: 1 });
    await sync.setRole('backup');
    assert.equal(sockets.receivers, 1);
    await sync.setRole('master');
    assert.deepEqual({ ...sockets }, { senders: 1, receivers: 1, open: 1 });
    sync.receive(encodeSyncMessage(51, [toSyncConnection(flow(1))]));
    await settle();
    assert.equal(port.learnt.length, 0);
    // A backup drains its own reports without sending them.
    await sync.setRole('backup');
    port.reports.push(flow(9));
    clock.advance(SEND_INTERVAL_MS);
    assert.equal(port.reports.length, 0);
    assert.equal(sent.length, 0);
    await sync.close();
    assert.equal(sockets.open, 0);
    assert.ok(port.closed);
  });
});
