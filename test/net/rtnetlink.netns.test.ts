import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { NetlinkError } from '../../src/netlink/connection.js';
import { type LinkInfo, RouteNetlink, watchLinks } from '../../src/netlink/rtnetlink.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { runIn } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { teardown } from '../support/teardown.js';

describe('rtnetlink in a namespace', () => {
  const ns = uniqueName('lbt-nl-');
  const peer = uniqueName('lbt-np-');
  let nl: RouteNetlink;
  let ifindex: number;

  before(async () => {
    await createNamespace(ns);
    await createNamespace(peer);
    await createVethPair(
      { namespace: ns, name: 'nl0', address: '10.233.0.1/24' },
      { namespace: peer, name: 'np0' },
    );
    nl = await withinNamespace(ns, () => new RouteNetlink());
    ifindex = (await nl.link('nl0')).index;
  });
  teardown(async () => {
    nl.close();
    await deleteNamespace(ns);
    await deleteNamespace(peer);
  });

  it('lists links with state and MAC', async () => {
    const links = await nl.listLinks();
    const lo = links.find((l) => l.name === 'lo');
    const veth = links.find((l) => l.name === 'nl0');
    assert.ok(lo?.up);
    assert.ok(veth?.up);
    assert.match(veth?.mac ?? '', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  it('adds a VIP with label and broadcast, and removes it', async () => {
    await nl.addAddress({
      ifindex,
      address: '10.233.0.100',
      prefixLength: 24,
      label: 'nl0:vip',
      broadcast: '10.233.0.255',
    });
    await nl.addAddress({ ifindex, address: '10.233.0.100', prefixLength: 24, label: 'nl0:vip' }); // idempotent
    const { stdout } = await runIn(ns, 'ip', ['-4', 'addr', 'show', 'dev', 'nl0']);
    assert.match(
      stdout,
      /inet 10\.233\.0\.100\/24 brd 10\.233\.0\.255 scope global secondary nl0:vip/,
    );
    const listed = (await nl.listAddresses(ifindex)).find((a) => a.address === '10.233.0.100');
    assert.deepEqual(listed, {
      ifindex,
      address: '10.233.0.100',
      prefixLength: 24,
      family: 4,
      scope: 0,
      label: 'nl0:vip',
      broadcast: '10.233.0.255',
    });
    assert.equal(
      await nl.deleteAddress({ ifindex, address: '10.233.0.100', prefixLength: 24 }),
      true,
    );
    assert.equal(
      await nl.deleteAddress({ ifindex, address: '10.233.0.100', prefixLength: 24 }),
      false,
    );
  });

  it('adds IPv6 addresses and host-scoped addresses', async () => {
    await nl.addAddress({ ifindex, address: '2001:db8::10', prefixLength: 64 });
    await nl.addAddress({ ifindex, address: '10.233.9.9', prefixLength: 32, scope: 'host' });
    const all = await nl.listAddresses(ifindex);
    assert.ok(
      all.some((a) => a.address === '2001:db8::10' && a.prefixLength === 64 && a.family === 6),
    );
    assert.ok(all.some((a) => a.address === '10.233.9.9' && a.scope === 254));
    await nl.deleteAddress({ ifindex, address: '2001:db8::10', prefixLength: 64 });
    await nl.deleteAddress({ ifindex, address: '10.233.9.9', prefixLength: 32 });
  });

  it('adds and deletes routes', async () => {
    await nl.addRoute({ destination: '10.234.0.0/16', gateway: '10.233.0.2' });
    const { stdout } = await runIn(ns, 'ip', ['route', 'show', '10.234.0.0/16']);
    assert.match(stdout, /10\.234\.0\.0\/16 via 10\.233\.0\.2 dev nl0/);
    assert.equal(
      await nl.deleteRoute({ destination: '10.234.0.0/16', gateway: '10.233.0.2' }),
      true,
    );
    assert.equal(
      await nl.deleteRoute({ destination: '10.234.0.0/16', gateway: '10.233.0.2' }),
      false,
    );
  });

  it('carries the kernel reason in errors', async () => {
    await assert.rejects(
      nl.addRoute({ destination: '10.235.0.0/16', gateway: '10.99.99.99' }),
      (err: unknown) =>
        err instanceof NetlinkError &&
        err.code === 'NETLINK_ERROR' &&
        /Cannot add route 10\.235\.0\.0\/16: .*\(ENETUNREACH\)/.test(err.message),
    );
    await assert.rejects(
      nl.addAddress({ ifindex: 9999, address: '10.1.1.1', prefixLength: 32 }),
      /Cannot add address 10\.1\.1\.1\/32: .*ENODEV/,
    );
  });

  it('reports link state changes as events', async () => {
    const events: LinkInfo[] = [];
    const watcher = await withinNamespace(ns, () => watchLinks((link) => events.push(link)));
    try {
      await runIn(ns, 'ip', ['link', 'set', 'nl0', 'down']);
      await runIn(ns, 'ip', ['link', 'set', 'nl0', 'up']);
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && !events.some((e) => e.name === 'nl0' && e.up)) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const nl0 = events.filter((e) => e.name === 'nl0');
      assert.ok(
        nl0.some((e) => !e.up),
        'down event',
      );
      assert.ok(
        nl0.some((e) => e.up),
        'up event',
      );
    } finally {
      watcher.close();
    }
  });
});
