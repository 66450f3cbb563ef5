import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../support/wait.js';
import { keepalivedConf } from './support/conf.js';
import { daemonLab } from './support/daemon-lab.js';

const VIP = '10.79.0.100';
// virtual_ipaddress_excluded: one of the instance's family, one IPv6 on this IPv4 instance.
const EXCLUDED_V4 = '10.79.0.101';
const EXCLUDED_V6 = 'fd00:79::101';

describe('virtual_ipaddress_excluded on two lbctl nodes', { timeout: 60_000 }, () => {
  const site = daemonLab('lbx-', { client: '10.79.0.10', d1: '10.79.0.1', d2: '10.79.0.2' });
  const node = (role: string) => site.node(role);
  const conf = (priority: number) =>
    keepalivedConf(`n${priority}`, [
      {
        name: 'VI_1',
        vrid: 11,
        priority,
        vips: [`${VIP}/24`],
        excludedVips: [`${EXCLUDED_V4}/24`, `${EXCLUDED_V6}/64`],
        advertInt: 0.1,
      },
    ]);
  const holds = async (role: string) => ({
    vip: await site.lab.hasAddress(role, VIP),
    v4: await site.lab.hasAddress(role, EXCLUDED_V4),
    v6: await site.lab.hasAddress(role, EXCLUDED_V6),
  });
  const all = { vip: true, v4: true, v6: true };
  const none = { vip: false, v4: false, v6: false };
  const until = (what: string, role: string, expected: typeof all) =>
    waitFor(what, async () => {
      const held = await holds(role);
      return JSON.stringify(held) === JSON.stringify(expected) ? true : undefined;
    });

  it('move with mastership and are cleaned up after a crash', async () => {
    const [d1, d2] = await site.electPair(conf);
    await until('all addresses on d1', 'd1', all);
    assert.deepEqual(await holds('d2'), none);
    assert.ok(
      await site.lab.ping('client', EXCLUDED_V4),
      'client reaches the excluded address at d1',
    );

    const killedAt = Date.now();
    await d1.stop('SIGKILL');
    await d2.waitForState('VI_1', 'MASTER', 3000, killedAt);
    await until('all addresses on d2', 'd2', all);
    await waitFor(
      'client ARP entry for the excluded address to move to d2',
      async () =>
        (await site.lab.neighbourMac('client', EXCLUDED_V4)) === site.lab.host('d2').mac
          ? true
          : undefined,
      // Each poll runs ip in the client's namespace: slow on a loaded machine. With
      // vrrp_garp_master_delay 0 only the gratuitous ARP at takeover can move the entry.
      { timeoutMs: 5000 },
    );
    // The killed run left its addresses; a restart that stays BACKUP removes them.
    assert.deepEqual(await holds('d1'), all);
    const d1b = node('d1');
    d1b.start(conf(50));
    await d1b.waitForState('VI_1', 'BACKUP', 5000);
    await until('leftovers removed from d1', 'd1', none);
    assert.deepEqual(await holds('d2'), all);

    // A graceful stop of the master hands every address over.
    const stoppedAt = Date.now();
    await d2.stop('SIGTERM');
    await d1b.waitForState('VI_1', 'MASTER', 3000, stoppedAt);
    await until('all addresses on d1 again', 'd1', all);
    assert.deepEqual(await holds('d2'), none);
  });
});
