import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BpfError } from '../../src/bpf/errors.js';
import { NativeError } from '../../src/native/native-error.js';
import { type RawDatagram, RawIpSocket } from '../../src/net/raw-socket.js';
import { RouteNetlink } from '../../src/netlink/rtnetlink.js';
import { withinNamespace } from '../../src/netns/enter.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const VRRP = 112;

/** Resolves with the first datagram accepted by `match`, or rejects after `ms`. */
function nextDatagram(
  socket: RawIpSocket,
  match: (d: RawDatagram) => boolean,
  ms = 3000,
): Promise<RawDatagram> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.stop();
      reject(new Error('no datagram arrived'));
    }, ms);
    socket.receive((d) => {
      if (!match(d)) return;
      clearTimeout(timer);
      socket.stop();
      resolve(d);
    });
  });
}

describe('raw IP sockets between two namespaces', () => {
  const a = uniqueName('lbt-ra-');
  const b = uniqueName('lbt-rb-');

  before(async () => {
    await createNamespace(a);
    await createNamespace(b);
    await createVethPair(
      { namespace: a, name: 'ra0', address: '10.232.0.1/24' },
      { namespace: b, name: 'rb0', address: '10.232.0.2/24' },
    );
  });
  teardown(async () => {
    await deleteNamespace(a);
    await deleteNamespace(b);
  });

  it('delivers multicast VRRP with its TTL, source, destination and interface', async () => {
    const receiver = await withinNamespace(b, () => {
      const s = new RawIpSocket({ family: 4, protocol: VRRP, interface: 'rb0' });
      s.joinMulticast('224.0.0.18', 'rb0');
      return s;
    });
    const sender = await withinNamespace(a, () => {
      const s = new RawIpSocket({
        family: 4,
        protocol: VRRP,
        interface: 'ra0',
        bindAddress: '10.232.0.1',
      });
      s.setTtl(255);
      s.setTos(0xc0);
      s.setMulticastInterface('ra0');
      s.setMulticastLoop(false);
      return s;
    });
    try {
      const arrived = nextDatagram(receiver, (d) => d.source === '10.232.0.1');
      const payload = Buffer.from('advert-payload');
      sender.send(payload, '224.0.0.18');
      const d = await arrived;
      assert.deepEqual(d.payload, payload, 'payload without the IP header');
      assert.equal(d.ttl, 255);
      assert.equal(d.tos, 0xc0);
      assert.equal(d.destination, '224.0.0.18');
      assert.ok(d.ifindex > 0);
    } finally {
      sender.close();
      receiver.close();
    }
  });

  it('delivers IPv6 multicast with the hop limit from ancillary data', async () => {
    const linkLocal = (ns: string, dev: string) =>
      withinNamespace(ns, async () => {
        const nl = new RouteNetlink();
        try {
          const link = await nl.link(dev);
          // The kernel adds the link-local address shortly after carrier comes up.
          return await waitFor(`a link-local address on ${dev}`, async () => {
            const all = await nl.listAddresses(link.index);
            return all.find((x) => x.family === 6 && x.address.startsWith('fe80'))?.address;
          });
        } finally {
          nl.close();
        }
      });
    const source = await linkLocal(a, 'ra0');
    await linkLocal(b, 'rb0');
    const receiver = await withinNamespace(b, () => {
      const s = new RawIpSocket({ family: 6, protocol: VRRP, interface: 'rb0' });
      s.joinMulticast('ff02::12', 'rb0');
      return s;
    });
    const sender = await withinNamespace(a, () => {
      const s = new RawIpSocket({ family: 6, protocol: VRRP, interface: 'ra0' });
      s.setTtl(255);
      s.setTos(0xc0);
      s.setMulticastInterface('ra0');
      return s;
    });
    try {
      const arrived = nextDatagram(receiver, (d) => d.source === source);
      // Retry a few times: a freshly configured link may drop the first multicast.
      for (let i = 0; i < 5; i++) {
        sender.send(Buffer.from('v6-advert'), 'ff02::12');
        const got = await Promise.race([
          arrived,
          new Promise((r) => setTimeout(r, 200, undefined)),
        ]);
        if (got !== undefined) break;
      }
      const d = await arrived;
      assert.equal(d.payload.toString(), 'v6-advert');
      assert.equal(d.ttl, 255, 'hop limit');
      assert.equal(d.tos, 0xc0, 'traffic class');
      assert.equal(d.destination, 'ff02::12');
    } finally {
      sender.close();
      receiver.close();
    }
  });

  it('reports bad arguments and use after close clearly', async () => {
    await withinNamespace(a, () => {
      assert.throws(
        () => new RawIpSocket({ family: 4, protocol: VRRP, interface: 'nope0' }),
        (err: unknown) =>
          err instanceof NativeError &&
          !(err instanceof BpfError) &&
          err.code === 'NATIVE_NO_SUCH_INTERFACE' &&
          /nope0: no such interface/.test(err.message),
      );
      const s = new RawIpSocket({ family: 4, protocol: VRRP });
      assert.throws(() => s.send(Buffer.from('x'), 'not-an-address'), /is not an IPv4 address/);
      assert.throws(() => s.setTtl(0), /must be 1\.\.255/);
      s.close();
      s.close();
      assert.throws(
        () => s.send(Buffer.from('x'), '10.232.0.2'),
        (err: unknown) =>
          err instanceof NativeError && !(err instanceof BpfError) && err.code === 'NATIVE_CLOSED',
      );
    });
  });
});
