/**
 * Each IPVS feature written through lbctl's generic netlink client and read
 * back by ipvsadm (`ipvsadm -Ln`), which decodes the kernel table with its
 * own code: what lbctl asked for is what the kernel holds. Runs in the VM
 * tier (test/kernels/ipvs.vm.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type RealSpec,
  SCHEDULERS,
  type ServiceSpec,
  serviceName,
} from '../../src/dataplane/dataplane.js';
import { IpvsDataPlane } from '../../src/dataplane/ipvs/ipvs-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { ipvsadm, ipvsadmTable, ipvsPlane } from './support.js';

const WEB: ServiceSpec = { vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'wrr' };
const real = (address: string, weight = 1, extra: Partial<RealSpec> = {}): RealSpec => ({
  address,
  port: 80,
  weight,
  forwarding: 'dr',
  ...extra,
});

describe('IPVS over generic netlink, read back by ipvsadm', () => {
  for (const scheduler of SCHEDULERS) {
    it(`scheduler ${scheduler}`, async (t) => {
      const plane = await ipvsPlane(t);
      await plane.setService({ ...WEB, scheduler }, [real('10.0.0.11', 3)]);
      assert.deepEqual(await ipvsadmTable('-t', '10.0.0.100:80'), [
        `TCP 10.0.0.100:80 ${scheduler}`,
        '-> 10.0.0.11:80 Route 3 0 0',
      ]);
    });
  }

  it('UDP and SCTP services', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setService({ ...WEB, protocol: 'udp', port: 53 }, [
      real('10.0.0.11', 1, { port: 53 }),
    ]);
    await plane.setService({ ...WEB, protocol: 'sctp', port: 38412, scheduler: 'rr' }, [
      real('10.0.0.12', 1, { port: 38412 }),
    ]);
    assert.deepEqual(await ipvsadmTable('-u', '10.0.0.100:53'), [
      'UDP 10.0.0.100:53 wrr',
      '-> 10.0.0.11:53 Route 1 0 0',
    ]);
    assert.deepEqual(await ipvsadmTable('--sctp-service', '10.0.0.100:38412'), [
      'SCTP 10.0.0.100:38412 rr',
      '-> 10.0.0.12:38412 Route 1 0 0',
    ]);
  });

  it('an IPv6 service with an IPv4 TUN real and an IPv6 DR real', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setService({ ...WEB, vip: '2001:db8::100', scheduler: 'lc' }, [
      real('2001:db8::11'),
      real('10.0.0.12', 2, { forwarding: 'tun' }),
    ]);
    const table = await ipvsadmTable('-t', '[2001:db8::100]:80');
    assert.equal(table[0], 'TCP [2001:db8::100]:80 lc');
    assert.deepEqual(table.slice(1).sort(), [
      '-> 10.0.0.12:80 Tunnel 2 0 0',
      '-> [2001:db8::11]:80 Route 1 0 0',
    ]);
  });

  it('DR, NAT and TUN reals, and weight 0 drains', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setService({ ...WEB, scheduler: 'wlc' }, [
      real('10.0.0.11'),
      real('10.0.0.12', 2, { forwarding: 'nat', port: 8080 }),
      real('10.0.0.13', 3, { forwarding: 'tun' }),
    ]);
    await plane.setReal(WEB, real('10.0.0.11', 0));
    const table = await ipvsadmTable('-t', '10.0.0.100:80');
    assert.equal(table[0], 'TCP 10.0.0.100:80 wlc');
    assert.deepEqual(table.slice(1).sort(), [
      '-> 10.0.0.11:80 Route 0 0 0',
      '-> 10.0.0.12:8080 Masq 2 0 0',
      '-> 10.0.0.13:80 Tunnel 3 0 0',
    ]);
    await plane.removeReal(WEB, '10.0.0.13', 80);
    assert.equal((await ipvsadmTable('-t', '10.0.0.100:80')).length, 3);
  });

  it('TUN encapsulations: GUE with its port, GRE, checksum options, as ipvsadm --tun-* sets them; adopted; back to IPIP', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-'));
    const tun = (address: string, tunnel?: RealSpec['tunnel']) =>
      real(address, 1, { forwarding: 'tun', ...(tunnel !== undefined ? { tunnel } : {}) });
    const reals = [
      tun('10.0.0.11', { type: 'gue', port: 6080, checksum: 'nocsum' }),
      tun('10.0.0.12', { type: 'gue', port: 6081, checksum: 'csum' }),
      tun('10.0.0.13', { type: 'gue', port: 6082, checksum: 'remcsum' }),
      tun('10.0.0.14', { type: 'gre', checksum: 'csum' }),
      tun('10.0.0.15', { type: 'gre', checksum: 'nocsum' }),
      tun('10.0.0.16'),
    ];
    // The reference: the same reals made by ipvsadm itself on another VIP.
    await ipvsadm('-A', '-t', '10.0.0.200:80', '-s', 'rr');
    const reference = [
      ['10.0.0.11', '--tun-type', 'gue', '--tun-port', '6080', '--tun-nocsum'],
      ['10.0.0.12', '--tun-type', 'gue', '--tun-port', '6081', '--tun-csum'],
      ['10.0.0.13', '--tun-type', 'gue', '--tun-port', '6082', '--tun-remcsum'],
      ['10.0.0.14', '--tun-type', 'gre', '--tun-csum'],
      ['10.0.0.15', '--tun-type', 'gre'],
      ['10.0.0.16'],
    ];
    const planes: IpvsDataPlane[] = [];
    const tunInfo = async (vip: string) =>
      (await ipvsadmTable('--tun-info', '-t', `${vip}:80`)).slice(1).sort();
    try {
      for (const [address, ...options] of reference)
        await ipvsadm('-a', '-t', '10.0.0.200:80', '-r', `${address}:80`, '-i', ...options);
      const first = await IpvsDataPlane.open({ instance: 'tunnels', runDir });
      planes.push(first);
      await first.setService({ ...WEB, scheduler: 'rr' }, reals);
      const ours = await tunInfo('10.0.0.100');
      assert.deepEqual(ours, await tunInfo('10.0.0.200'));
      // Not vacuous: ipvsadm shows the GUE port and tells the types apart.
      assert.ok(
        ours.some((l) => l.includes('6082')),
        ours.join('\n'),
      );
      assert.notEqual(ours[0], ours[5]);
      // A restart adopts the encapsulations as the kernel holds them.
      await first.close();
      const second = await IpvsDataPlane.open({ instance: 'tunnels', runDir });
      planes.push(second);
      const adopted = [...(second.services()[0]?.reals ?? [])];
      assert.deepEqual(
        adopted.sort((a, b) => a.address.localeCompare(b.address)),
        reals,
      );
      // Changed back to plain IPIP in place, as ipvsadm -e -i without --tun-type does.
      await second.setService(
        { ...WEB, scheduler: 'rr' },
        reals.map((r) => tun(r.address)),
      );
      for (const [address] of reference)
        await ipvsadm('-e', '-t', '10.0.0.200:80', '-r', `${address}:80`, '-i');
      assert.deepEqual(await tunInfo('10.0.0.100'), await tunInfo('10.0.0.200'));
      await second.destroy();
    } finally {
      // Whatever failed, the next tests start from an empty table and no socket stays open.
      for (const plane of planes) await plane.close();
      for (const vip of ['10.0.0.100', '10.0.0.200'])
        await ipvsadm('-D', '-t', `${vip}:80`).catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('persistence timeout and granularity (--persistent-conn)', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setService(
      { ...WEB, scheduler: 'sed', persistence: { timeoutS: 300, prefixLength: 24 } },
      [real('10.0.0.11')],
    );
    await plane.setService({ ...WEB, port: 0, scheduler: 'nq', persistence: { timeoutS: 60 } }, [
      real('10.0.0.12', 1, { port: 0 }),
    ]);
    assert.deepEqual(await ipvsadmTable('-t', '10.0.0.100:80'), [
      'TCP 10.0.0.100:80 sed persistent 300 mask 255.255.255.0',
      '-> 10.0.0.11:80 Route 1 0 0',
    ]);
    assert.deepEqual(await ipvsadmTable('--persistent-conn', '-t', '10.0.0.100:0'), [
      'TCP 10.0.0.100:0 nq persistent 60',
      // --persistent-conn shows Weight PersistConn ActiveConn InActConn, no method.
      '-> 10.0.0.12:0 1 0 0 0',
    ]);
  });

  it('sh-port and mh-port, sh-fallback and mh-fallback', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setService({ ...WEB, scheduler: 'sh', hashSourcePort: true }, [real('10.0.0.11')]);
    await plane.setService({ ...WEB, port: 81, scheduler: 'mh', hashSourcePort: true }, [
      real('10.0.0.11', 1, { port: 81 }),
    ]);
    await plane.setService({ ...WEB, port: 82, scheduler: 'sh', schedulerFallback: true }, [
      real('10.0.0.11', 1, { port: 82 }),
    ]);
    const both = { ...WEB, port: 83, scheduler: 'mh', hashSourcePort: true } as const;
    await plane.setService({ ...both, schedulerFallback: true }, [
      real('10.0.0.11', 1, { port: 83 }),
    ]);
    assert.equal((await ipvsadmTable('-t', '10.0.0.100:80'))[0], 'TCP 10.0.0.100:80 sh (sh-port)');
    assert.equal((await ipvsadmTable('-t', '10.0.0.100:81'))[0], 'TCP 10.0.0.100:81 mh (mh-port)');
    assert.equal(
      (await ipvsadmTable('-t', '10.0.0.100:82'))[0],
      'TCP 10.0.0.100:82 sh (sh-fallback)',
    );
    assert.equal(
      (await ipvsadmTable('-t', '10.0.0.100:83'))[0],
      'TCP 10.0.0.100:83 mh (mh-fallback,mh-port)',
    );
    // Turning the flag off reaches the kernel too.
    await plane.setService(both, [real('10.0.0.11', 1, { port: 83 })]);
    assert.equal((await ipvsadmTable('-t', '10.0.0.100:83'))[0], 'TCP 10.0.0.100:83 mh (mh-port)');
  });

  it('upper and lower connection thresholds (ipvsadm -x -y), changed in place', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setService(WEB, [
      real('10.0.0.11', 1, { upperThreshold: 100, lowerThreshold: 10 }),
    ]);
    const dest = async () =>
      (await ipvsadmTable('-t', '10.0.0.100:80', '--thresholds')).find((l) => l.startsWith('->'));
    assert.equal(await dest(), '-> 10.0.0.11:80 100 10 0 0');
    await plane.setReal(WEB, real('10.0.0.11', 1, { upperThreshold: 50 }));
    assert.equal(await dest(), '-> 10.0.0.11:80 50 0 0 0');
    assert.deepEqual(plane.services()[0]?.reals, [real('10.0.0.11', 1, { upperThreshold: 50 })]);
  });

  it('timeouts (ipvsadm --set)', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setTimeouts({ tcpS: 1000, tcpFinS: 30, udpS: 45 });
    assert.match(await ipvsadm('-Ln', '--timeout'), /Timeout \(tcp tcpfin udp\): 1000 30 45/);
    assert.deepEqual(await plane.timeouts(), { tcpS: 1000, tcpFinS: 30, udpS: 45 });
    await plane.setTimeouts({ tcpS: 900, tcpFinS: 120, udpS: 300 });
  });

  it('adopts its own services on restart and never touches a service it did not create', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-'));
    await ipvsadm('-A', '-t', '10.0.0.200:80', '-s', 'rr');
    try {
      const first = await IpvsDataPlane.open({ instance: 'adopt', runDir });
      await first.setService({ ...WEB, scheduler: 'lblcr', persistence: { timeoutS: 30 } }, [
        real('10.0.0.11', 4),
      ]);
      await assert.rejects(
        first.setService({ ...WEB, vip: '10.0.0.200' }, [real('10.0.0.11')]),
        (err: Error) => hasCode(err, 'IPVS_SERVICE_NOT_OWNED'),
      );
      await first.close();
      const second = await IpvsDataPlane.open({ instance: 'adopt', runDir });
      assert.deepEqual(second.services(), [
        {
          service: { ...WEB, scheduler: 'lblcr', persistence: { timeoutS: 30 } },
          reals: [real('10.0.0.11', 4)],
        },
      ]);
      await second.setReal(WEB, real('10.0.0.12'));
      await second.destroy();
      assert.deepEqual(await ipvsadmTable(), ['TCP 10.0.0.200:80 rr']);
    } finally {
      await ipvsadm('-D', '-t', '10.0.0.200:80').catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('fwmark services (IPv4 and IPv6) are created, adopted after a restart, and never taken from ipvsadm', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-'));
    const mark = (fwmark: number, vip: string): ServiceSpec => ({
      vip,
      port: 0,
      protocol: 'tcp',
      fwmark,
      scheduler: 'rr',
    });
    await ipvsadm('-A', '-f', '9', '-s', 'wlc');
    try {
      const first = await IpvsDataPlane.open({ instance: 'marks', runDir });
      await first.setService({ ...mark(7, '0.0.0.0'), persistence: { timeoutS: 60 } }, [
        real('10.0.0.11', 2),
        real('10.0.0.12', 1, { forwarding: 'nat', port: 0 }),
      ]);
      await first.setService(mark(7, '::'), [real('2001:db8::11')]);
      await assert.rejects(
        first.setService(mark(9, '0.0.0.0'), [real('10.0.0.11')]),
        (err: Error) => hasCode(err, 'IPVS_SERVICE_NOT_OWNED') && /FWM 9/.test(err.message),
      );
      const v4 = await ipvsadmTable('-f', '7');
      assert.equal(v4[0], 'FWM 7 rr persistent 60');
      assert.deepEqual(v4.slice(1).sort(), [
        '-> 10.0.0.11:80 Route 2 0 0',
        '-> 10.0.0.12:0 Masq 1 0 0',
      ]);
      assert.deepEqual(await ipvsadmTable('-f', '7', '-6'), [
        'FWM 7 IPv6 rr',
        '-> [2001:db8::11]:80 Route 1 0 0',
      ]);
      await first.close();
      const second = await IpvsDataPlane.open({ instance: 'marks', runDir });
      assert.deepEqual(
        second
          .services()
          .map((s) => `${serviceName(s.service)} ${s.service.scheduler} ${s.reals.length}`)
          .sort(),
        ['FWM 7 IPv6 rr 1', 'FWM 7 rr 2'],
      );
      await second.setReal(mark(7, '::'), real('2001:db8::12'));
      assert.equal((await ipvsadmTable('-f', '7', '-6')).length, 3);
      await second.destroy();
      assert.deepEqual(await ipvsadmTable(), ['FWM 9 wlc']);
    } finally {
      await ipvsadm('-D', '-f', '9').catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('counters name every owned service and its reals', async (t) => {
    const plane = await ipvsPlane(t);
    await plane.setService(WEB, [real('10.0.0.11'), real('10.0.0.12')]);
    const counters = await plane.counters();
    assert.equal(counters.services.length, 1);
    assert.deepEqual(counters.services[0]!.reals.map((r) => `${r.address}:${r.port}`).sort(), [
      '10.0.0.11:80',
      '10.0.0.12:80',
    ]);
  });
});
