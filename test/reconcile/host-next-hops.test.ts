import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryHostNetwork } from '../../src/netlink/testing/memory-host-network.js';
import { HostNextHops } from '../../src/reconcile/host-next-hops.js';
import { FakeClock } from '../../src/time/fake-clock.js';

/** A host with eth0 on 10.0.0.0/16 and `known` reals already in its neighbour table. */
function host(known: number) {
  const net = new MemoryHostNetwork();
  const eth0 = net.addLink('eth0', '02:00:00:00:00:01');
  net.addAddress('eth0', '10.0.0.1/16');
  for (let i = 0; i < known; i++) {
    net.neighbourList.push({
      address: `10.0.${Math.floor(i / 250) + 1}.${(i % 250) + 2}`,
      ifindex: eth0.index,
      mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
      state: 2,
      usable: true,
      failed: false,
    });
  }
  return net;
}

const dumps = (net: MemoryHostNetwork) =>
  net.asked.filter((q) => q.startsWith('neighbours')).length;

describe('next hops from the host tables', () => {
  it('answers a thousand distinct reals from one neighbour dump', async () => {
    const net = host(1000);
    const clock = new FakeClock();
    const hops = new HostNextHops({ host: net, clock });
    const answers = await Promise.all(net.neighbourList.map((n) => hops.resolve(n.address)));
    assert.equal(answers.length, 1000);
    assert.deepEqual(answers[999], { interface: 'eth0', mac: net.neighbourList[999]!.mac });
    assert.equal(dumps(net), 1);
    // Sequential lookups within the snapshot's lifetime share it too.
    hops.forget(net.neighbourList[0]!.address);
    await hops.resolve(net.neighbourList[0]!.address);
    assert.equal(dumps(net), 1);
    // An older snapshot is not trusted: the table is dumped again.
    clock.advance(1000);
    hops.forget(net.neighbourList[1]!.address);
    await hops.resolve(net.neighbourList[1]!.address);
    assert.equal(dumps(net), 2);
  });

  it('polls with fresh dumps while a real answers address resolution', async () => {
    const net = host(10);
    const clock = new FakeClock();
    const hops = new HostNextHops({ host: net, clock, pollMs: 50, resolveTimeoutMs: 1000 });
    await hops.resolve('10.0.1.2'); // a snapshot without 10.0.9.9 exists now
    net.answering.set('10.0.9.9', '02:00:00:00:99:99');
    const answer = await hops.resolve('10.0.9.9');
    // Resolution added it; the dump taken after the trigger (not the old snapshot) found it.
    assert.deepEqual(answer, { interface: 'eth0', mac: '02:00:00:00:99:99' });
    assert.deepEqual(net.asked.slice(-2), ['resolve 10.0.9.9', 'neighbours 1']);
  });

  it('names the real that does not answer', async () => {
    const net = host(0);
    const clock = new FakeClock();
    const hops = new HostNextHops({ host: net, clock, pollMs: 50, resolveTimeoutMs: 200 });
    const pending = assert.rejects(
      hops.resolve('10.0.5.5'),
      /10\.0\.5\.5 did not answer address resolution on eth0/,
    );
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(50);
    }
    await pending;
  });
});
