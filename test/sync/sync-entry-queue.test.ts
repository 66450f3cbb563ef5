import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeSyncMessage,
  encodeSyncMessages,
  HEADER_BYTES,
  IPVS_SYNC_DEFAULT_MAXLEN,
  type SyncConnection,
} from '../../src/sync/ipvs-sync-codec.js';
import { SyncEntryQueue } from '../../src/sync/sync-entry-queue.js';
import { prng } from '../config/mutations.js';

/** Connection `i`, IPv6 when `ipv6`. */
function connection(i: number, ipv6: boolean): SyncConnection {
  const address = (n: number) =>
    ipv6 ? `2001:db8::${n.toString(16)}` : `10.79.${n >> 8}.${n & 255}`;
  return {
    family: ipv6 ? 'ipv6' : 'ipv4',
    protocol: 6,
    flags: 3,
    state: 1,
    clientAddress: address(i),
    clientPort: 1024 + i,
    virtualAddress: address(60_000),
    virtualPort: 80,
    destinationAddress: address(1 + (i % 7)),
    destinationPort: 80,
    fwmark: i % 3,
    timeoutS: 900 - (i % 100),
  };
}

/** Appends `c` to the queue: its entry as encodeSyncMessage writes it. */
function append(queue: SyncEntryQueue, c: SyncConnection): void {
  const at = queue.append(c.family === 'ipv6');
  encodeSyncMessage(1, [c]).copy(queue.bytes, at, HEADER_BYTES);
}

describe('sync entries queued in wire form', () => {
  it('packs messages as encodeSyncMessages does: maxLength, 255 entries, IPv4 and IPv6 mixed', () => {
    const rand = prng(7);
    const connections = Array.from({ length: 3000 }, (_, i) => connection(i, rand() < 0.3));
    for (const maxLength of [IPVS_SYNC_DEFAULT_MAXLEN, 100, 9000, 65_507]) {
      const queue = new SyncEntryQueue();
      for (const c of connections) append(queue, c);
      assert.equal(queue.length, connections.length);
      const sent: Buffer[] = [];
      // Taken in bursts of 320, as the hand-off sends them.
      for (let at = 0; at < connections.length; at += 320) {
        sent.push(...queue.takeMessages(1, 320, maxLength));
      }
      const expected = [];
      for (let at = 0; at < connections.length; at += 320) {
        expected.push(...encodeSyncMessages(1, connections.slice(at, at + 320), maxLength));
      }
      assert.deepEqual(sent, expected, `maxLength ${maxLength}`);
      assert.equal(queue.length, 0);
    }
  });

  it('keeps order while entries are taken from the front, appended and popped at the back', () => {
    const queue = new SyncEntryQueue();
    const model: SyncConnection[] = [];
    const sent: Buffer[] = [];
    const expected: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      const c = connection(i, i % 5 === 0);
      append(queue, c);
      model.push(c);
      if (i % 11 === 0 && queue.pop()) model.pop();
      if (i % 97 === 0) {
        const take = 1 + (i % 300);
        sent.push(...queue.takeMessages(9, take, IPVS_SYNC_DEFAULT_MAXLEN));
        expected.push(...encodeSyncMessages(9, model.splice(0, take), IPVS_SYNC_DEFAULT_MAXLEN));
      }
      assert.equal(queue.length, model.length);
    }
    sent.push(...queue.takeMessages(9, queue.length, IPVS_SYNC_DEFAULT_MAXLEN));
    expected.push(...encodeSyncMessages(9, model, IPVS_SYNC_DEFAULT_MAXLEN));
    assert.deepEqual(sent, expected);
    assert.equal(queue.pop(), false);
  });
});
