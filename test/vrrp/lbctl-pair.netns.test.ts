import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runIn } from '../../src/netns/exec.js';
import { waitFor } from '../support/wait.js';
import { keepalivedConf } from './support/conf.js';
import { daemonLab } from './support/daemon-lab.js';

const VIP = '10.78.0.100';

describe('two lbctl nodes on one segment', { timeout: 60_000 }, () => {
  const site = daemonLab('lbv-', { client: '10.78.0.10', d1: '10.78.0.1', d2: '10.78.0.2' });
  const node = (role: string) => site.node(role);

  it('elects the higher priority, fails over on SIGKILL with a gratuitous ARP, fails back on restart', async () => {
    const conf = (priority: number) =>
      keepalivedConf(`n${priority}`, [
        { name: 'VI_1', vrid: 10, priority, vips: [`${VIP}/24`], advertInt: 0.1 },
      ]);
    const [d1, d2] = await site.electPair(conf);
    await waitFor('VIP on d1', async () =>
      (await site.lab.hasAddress('d1', VIP)) ? true : undefined,
    );
    assert.equal(await site.lab.hasAddress('d2', VIP), false);
    assert.ok(await site.lab.ping('client', VIP), 'client reaches the VIP at d1');
    assert.equal(await site.lab.neighbourMac('client', VIP), site.lab.host('d1').mac);

    const killedAt = Date.now();
    await d1.stop('SIGKILL');
    const takeover = await d2.waitForState('VI_1', 'MASTER', 3000, killedAt);
    // No traffic from the client meanwhile: only the gratuitous ARP can change its entry.
    await waitFor(
      'client ARP entry for the VIP to move to d2',
      async () =>
        (await site.lab.neighbourMac('client', VIP)) === site.lab.host('d2').mac ? true : undefined,
      // Each poll runs ip in the client's namespace: slow on a loaded machine. With
      // vrrp_garp_master_delay 0 only the gratuitous ARP at takeover can move the entry.
      { timeoutMs: 5000 },
    );
    assert.ok(Date.now() - takeover < 5000, 'the entry moved at the takeover');
    assert.ok(await site.lab.hasAddress('d2', VIP));
    assert.ok(await site.lab.ping('client', VIP), 'client reaches the VIP at d2');

    // d1 comes back: it removes the VIP its killed run left behind, then preempts.
    const restartedAt = Date.now();
    const d1b = node('d1');
    d1b.start(conf(150));
    await d1b.waitForState('VI_1', 'BACKUP', 5000);
    await d1b.waitForState('VI_1', 'MASTER', 5000);
    await d2.waitForState('VI_1', 'BACKUP', 3000, restartedAt);
    await waitFor('VIP gone from d2', async () =>
      (await site.lab.hasAddress('d2', VIP)) ? undefined : true,
    );
    await waitFor('VIP on d1', async () =>
      (await site.lab.hasAddress('d1', VIP)) ? true : undefined,
    );
    await waitFor(
      'client ARP entry for the VIP back on d1',
      async () =>
        (await site.lab.neighbourMac('client', VIP)) === site.lab.host('d1').mac ? true : undefined,
      // Each poll runs ip in the client's namespace: slow on a loaded machine. With
      // vrrp_garp_master_delay 0 only the gratuitous ARP at takeover can move the entry.
      { timeoutMs: 5000 },
    );
    assert.ok(d1b.entries('removing virtual address left by a previous run').length > 0);
    // The stale VIP goes before anything another host sees: before the first state
    // (so before any advert or gratuitous ARP) and before the daemon says it is up.
    const order = (pattern: RegExp) => d1b.lines.findIndex((l) => pattern.test(l.text));
    const removed = order(/removing virtual address left by a previous run/);
    assert.ok(
      removed >= 0 && removed < order(/entering BACKUP state/),
      'VIP removed before BACKUP',
    );
    assert.ok(removed < order(/lbctl is up/), 'VIP removed before lbctl is up');
    await d1b.stop('SIGTERM');
    await d2.stop('SIGTERM');
  });

  it('goes to FAULT when its interface goes down (the backup takes over) and rejoins when it comes up', async () => {
    const vip = '10.78.0.170';
    const conf = (priority: number) =>
      keepalivedConf(`n${priority}`, [
        { name: 'VI_IF', vrid: 70, priority, vips: [`${vip}/24`], advertInt: 0.1 },
      ]);
    const d1 = node('d1');
    const d2 = node('d2');
    d1.start(conf(150));
    d2.start(conf(100));
    await d1.waitForState('VI_IF', 'MASTER', 5000);
    await d2.waitForState('VI_IF', 'BACKUP', 5000);
    const d1ns = site.lab.host('d1').namespace;
    const downAt = Date.now();
    await runIn(d1ns, 'ip', ['link', 'set', 'eth0', 'down']);
    let checked = false;
    try {
      await d1.waitForState('VI_IF', 'FAULT', 3000, downAt);
      await d2.waitForState('VI_IF', 'MASTER', 3000, downAt);
      await waitFor('VIP released on the downed director', async () =>
        (await site.lab.hasAddress('d1', vip)) ? undefined : true,
      );
      // The new master logs MASTER before its netlink request adds the VIP.
      await waitFor('VIP on the new master', async () =>
        (await site.lab.hasAddress('d2', vip)) ? true : undefined,
      );
      checked = true;
    } finally {
      // Later tests share d1's eth0: leave it up even when an assertion failed.
      if (!checked) await runIn(d1ns, 'ip', ['link', 'set', 'eth0', 'up']).catch(() => undefined);
    }
    const upAt = Date.now();
    await runIn(d1ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await d1.waitForState('VI_IF', 'BACKUP', 5000, upAt);
    await d1.waitForState('VI_IF', 'MASTER', 5000, upAt);
    await d2.waitForState('VI_IF', 'BACKUP', 3000, upAt);
    await waitFor('VIP back on d1 only', async () =>
      (await site.lab.hasAddress('d1', vip)) && !(await site.lab.hasAddress('d2', vip))
        ? true
        : undefined,
    );
    await d1.stop('SIGTERM');
    await d2.stop('SIGTERM');
  });

  it('keeps a lower priority master with nopreempt', async () => {
    const vip = '10.78.0.140';
    const conf = (priority: number) =>
      keepalivedConf(`n${priority}`, [
        { name: 'VI_NP', vrid: 40, priority, vips: [`${vip}/24`], advertInt: 0.1, nopreempt: true },
      ]);
    const d2 = node('d2');
    d2.start(conf(100));
    await d2.waitForState('VI_NP', 'MASTER', 5000);
    const d1 = node('d1');
    d1.start(conf(150));
    await d1.waitForState('VI_NP', 'BACKUP', 5000);
    // Four master-down intervals (0.3 s + skew) later the higher priority node still waits.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(d1.state('VI_NP'), 'BACKUP');
    assert.equal(d2.state('VI_NP'), 'MASTER');
    assert.ok(await site.lab.hasAddress('d2', vip));
    assert.equal(await site.lab.hasAddress('d1', vip), false);
  });

  it('hands over within the skew time when the master stops gracefully (priority 0)', async () => {
    const vip = '10.78.0.150';
    // advert_int 0.5 s: master-down for priority 100 is 1.5 s + 0.3 s skew; priority 0 cuts it to the skew.
    const conf = (priority: number) =>
      keepalivedConf(`n${priority}`, [
        { name: 'VI_P0', vrid: 50, priority, vips: [`${vip}/24`], advertInt: 0.5 },
      ]);
    const d1 = node('d1');
    const d2 = node('d2');
    d1.start(conf(150));
    d2.start(conf(100));
    await d1.waitForState('VI_P0', 'MASTER', 5000);
    await d2.waitForState('VI_P0', 'BACKUP', 5000);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const stoppedAt = Date.now();
    await d1.stop('SIGTERM');
    const takeover = await d2.waitForState('VI_P0', 'MASTER', 3000, stoppedAt);
    assert.ok(takeover - stoppedAt < 1000, `takeover took ${takeover - stoppedAt} ms`);
    assert.equal(await site.lab.hasAddress('d1', vip), false, 'the stopped node released the VIP');
    await waitFor('VIP on d2', async () =>
      (await site.lab.hasAddress('d2', vip)) ? true : undefined,
    );
  });

  it('moves mastership when a track_script fails and lowers priority below the peer', async () => {
    const vip = '10.78.0.160';
    const flag = `${site.lab.dir}/d1-service-down`;
    const d1 = node('d1');
    const d2 = node('d2');
    d1.start(
      keepalivedConf(
        'n1',
        [
          {
            name: 'VI_TS',
            vrid: 60,
            priority: 150,
            vips: [`${vip}/24`],
            advertInt: 0.1,
            trackScripts: ['chk_service'],
          },
        ],
        [{ name: 'chk_service', script: `/usr/bin/test ! -e ${flag}`, interval: 0.1, weight: -60 }],
      ),
    );
    d2.start(
      keepalivedConf('n2', [
        { name: 'VI_TS', vrid: 60, priority: 100, vips: [`${vip}/24`], advertInt: 0.1 },
      ]),
    );
    // The 5 s below time the election, not the processes' start (seconds on a loaded machine).
    await Promise.all([d1.waitUntilUp(), d2.waitUntilUp()]);
    await d1.waitForState('VI_TS', 'MASTER', 5000);
    await d2.waitForState('VI_TS', 'BACKUP', 5000);
    const failedAt = Date.now();
    writeFileSync(flag, '');
    await d2.waitForState('VI_TS', 'MASTER', 3000, failedAt);
    await d1.waitForState('VI_TS', 'BACKUP', 3000, failedAt);
    const change = d1.entries('effective priority changed').at(-1);
    assert.equal(change?.to, 90);
    await waitFor('VIP moved to d2', async () =>
      (await site.lab.hasAddress('d2', vip)) && !(await site.lab.hasAddress('d1', vip))
        ? true
        : undefined,
    );
  });

  it('runs two instances active/active across the two nodes', async () => {
    const [vipA, vipB] = ['10.78.0.170', '10.78.0.171'];
    const conf = (name: string, priorityA: number, priorityB: number) =>
      keepalivedConf(name, [
        { name: 'VI_A', vrid: 70, priority: priorityA, vips: [`${vipA}/24`], advertInt: 0.1 },
        { name: 'VI_B', vrid: 71, priority: priorityB, vips: [`${vipB}/24`], advertInt: 0.1 },
      ]);
    const d1 = node('d1');
    const d2 = node('d2');
    d1.start(conf('n1', 150, 100));
    d2.start(conf('n2', 100, 150));
    await d1.waitForState('VI_A', 'MASTER', 5000);
    await d2.waitForState('VI_B', 'MASTER', 5000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(d1.state('VI_B'), 'BACKUP');
    assert.equal(d2.state('VI_A'), 'BACKUP');
    assert.deepEqual(
      [await site.lab.hasAddress('d1', vipA), await site.lab.hasAddress('d1', vipB)],
      [true, false],
    );
    assert.deepEqual(
      [await site.lab.hasAddress('d2', vipA), await site.lab.hasAddress('d2', vipB)],
      [false, true],
    );
    assert.ok(await site.lab.ping('client', vipA));
    assert.ok(await site.lab.ping('client', vipB));
    assert.equal(await site.lab.neighbourMac('client', vipA), site.lab.host('d1').mac);
    assert.equal(await site.lab.neighbourMac('client', vipB), site.lab.host('d2').mac);
  });

  it('elects and fails over with unicast peers', async () => {
    const vip = '10.78.0.180';
    const [a1, a2] = [site.lab.host('d1').address, site.lab.host('d2').address];
    const conf = (priority: number, self: string, peer: string) =>
      keepalivedConf(`n${priority}`, [
        {
          name: 'VI_U',
          vrid: 80,
          priority,
          vips: [`${vip}/24`],
          advertInt: 0.1,
          unicastSrc: self,
          unicastPeers: [peer],
        },
      ]);
    const d1 = node('d1');
    const d2 = node('d2');
    d1.start(conf(150, a1, a2));
    d2.start(conf(100, a2, a1));
    await d1.waitForState('VI_U', 'MASTER', 5000);
    await d2.waitForState('VI_U', 'BACKUP', 5000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(d2.state('VI_U'), 'BACKUP', 'the backup keeps hearing unicast adverts');
    const killedAt = Date.now();
    await d1.stop('SIGKILL');
    await d2.waitForState('VI_U', 'MASTER', 3000, killedAt);
    await waitFor('VIP on d2', async () =>
      (await site.lab.hasAddress('d2', vip)) ? true : undefined,
    );
  });

  it('runs IPv6 (v3 over ff02::12) and moves the client with an unsolicited neighbour advertisement', async () => {
    const vip = 'fd00:78::100';
    await runIn(site.lab.host('client').namespace, 'ip', [
      '-6',
      'addr',
      'add',
      'fd00:78::10/64',
      'dev',
      'eth0',
    ]);
    const conf = (priority: number) =>
      keepalivedConf(`n${priority}`, [
        { name: 'VI_6', vrid: 90, priority, vips: [`${vip}/64`], advertInt: 0.1 },
      ]);
    const d1 = node('d1');
    const d2 = node('d2');
    d1.start(conf(150));
    d2.start(conf(100));
    await d1.waitForState('VI_6', 'MASTER', 5000);
    await d2.waitForState('VI_6', 'BACKUP', 5000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(d2.state('VI_6'), 'BACKUP', 'the backup accepts the IPv6 adverts');
    assert.ok(await site.lab.ping('client', vip), 'client reaches the IPv6 VIP at d1');
    assert.equal(await site.lab.neighbourMac('client', vip), site.lab.host('d1').mac);
    const killedAt = Date.now();
    await d1.stop('SIGKILL');
    await d2.waitForState('VI_6', 'MASTER', 3000, killedAt);
    await waitFor(
      'client neighbour entry for the VIP to move to d2',
      async () =>
        (await site.lab.neighbourMac('client', vip)) === site.lab.host('d2').mac ? true : undefined,
      // Each poll runs ip in the client's namespace: slow on a loaded machine. With
      // vrrp_garp_master_delay 0 only the gratuitous ARP at takeover can move the entry.
      { timeoutMs: 5000 },
    );
    assert.ok(await site.lab.ping('client', vip), 'client reaches the IPv6 VIP at d2');
  });
});
