import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { type InstanceConf, keepalivedConf } from '../vrrp/support/conf.js';
import { KeepalivedDaemon, LbctlDaemon, type VrrpDaemon } from '../vrrp/support/daemons.js';
import { Lab } from '../vrrp/support/lab.js';

type Kind = 'lbctl' | 'keepalived';

/** A VRRP mode both implementations run with identical settings. */
interface Mode {
  readonly name: string;
  readonly settings: Partial<InstanceConf>;
  /** Longest wait for one election (master-down interval plus margin), ms. */
  readonly electionMs: number;
  readonly unicast?: boolean;
}

const MODES: readonly Mode[] = [
  {
    name: 'v2 multicast with PASS authentication',
    settings: { version: 2, advertInt: 1, authPass: 'lbctl-ok' },
    electionMs: 6000,
  },
  { name: 'v3 multicast', settings: { version: 3, advertInt: 0.1 }, electionMs: 3000 },
  { name: 'v3 unicast', settings: { version: 3, advertInt: 0.1 }, electionMs: 3000, unicast: true },
];

describe('VRRP interoperability with keepalived', { timeout: 120_000 }, () => {
  let lab: Lab;
  const daemons: VrrpDaemon[] = [];
  let vrid = 100;

  const spawnDaemon = (kind: Kind, role: string, config: string): VrrpDaemon => {
    const dir = `${lab.dir}/${role}-${kind}-${daemons.length}`;
    const namespace = lab.host(role).namespace;
    const daemon =
      kind === 'lbctl'
        ? new LbctlDaemon(role, namespace, dir)
        : new KeepalivedDaemon(role, namespace, dir);
    daemons.push(daemon);
    daemon.start(config);
    return daemon;
  };

  /** Waits until lbctl says it is up (keepalived starts in milliseconds): election bounds then time VRRP only. */
  const started = async (...starting: VrrpDaemon[]): Promise<void> => {
    await Promise.all(
      starting.map((d) => (d instanceof LbctlDaemon ? d.waitUntilUp() : undefined)),
    );
  };

  before(async () => {
    lab = await Lab.create('lbi-', { client: '10.79.0.10', d1: '10.79.0.1', d2: '10.79.0.2' });
  });
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop('SIGKILL');
  });
  teardown(async () => {
    for (const d of daemons.splice(0)) await d.stop('SIGKILL');
    await lab?.close();
  });

  const vipOwner = async (vip: string): Promise<string | undefined> => {
    const on1 = await lab.hasAddress('d1', vip);
    const on2 = await lab.hasAddress('d2', vip);
    return on1 && !on2 ? 'd1' : on2 && !on1 ? 'd2' : undefined;
  };

  for (const mode of MODES) {
    for (const [masterKind, backupKind] of [
      ['keepalived', 'lbctl'],
      ['lbctl', 'keepalived'],
    ] as const) {
      it(`${mode.name}: ${masterKind} master, ${backupKind} backup, failover and failback`, async () => {
        vrid++;
        const vip = `10.79.0.${vrid}`;
        const conf = (role: 'd1' | 'd2', priority: number) => {
          const self = lab.host(role).address;
          const peer = lab.host(role === 'd1' ? 'd2' : 'd1').address;
          return keepalivedConf(`${role}-${vrid}`, [
            {
              name: 'VI_IOP',
              vrid,
              priority,
              vips: [`${vip}/24`],
              ...mode.settings,
              ...(mode.unicast === true ? { unicastSrc: self, unicastPeers: [peer] } : {}),
            },
          ]);
        };
        const wait = mode.electionMs;
        const master = spawnDaemon(masterKind, 'd1', conf('d1', 150));
        const backup = spawnDaemon(backupKind, 'd2', conf('d2', 100));
        await started(master, backup);
        await master.waitForState('VI_IOP', 'MASTER', wait);
        await backup.waitForState('VI_IOP', 'BACKUP', wait);
        await waitFor('VIP on the master', async () =>
          (await vipOwner(vip)) === 'd1' ? true : undefined,
        );
        // Several adverts later the backup still accepts the master's adverts.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(1000, (mode.settings.advertInt ?? 1) * 2500)),
        );
        assert.equal(await vipOwner(vip), 'd1');
        assert.equal(backup.state('VI_IOP'), 'BACKUP');

        const killedAt = Date.now();
        await master.stop('SIGKILL');
        await backup.waitForState('VI_IOP', 'MASTER', wait, killedAt);
        await waitFor('VIP on the backup host', async () =>
          (await lab.hasAddress('d2', vip)) ? true : undefined,
        );

        // The master comes back (removing the VIP its killed run left) and preempts.
        const restartedAt = Date.now();
        const restarted = spawnDaemon(masterKind, 'd1', conf('d1', 150));
        await started(restarted);
        await restarted.waitForState('VI_IOP', 'MASTER', wait + 2000, restartedAt);
        await backup.waitForState('VI_IOP', 'BACKUP', wait, restartedAt);
        await waitFor('VIP back on the master only', async () =>
          (await vipOwner(vip)) === 'd1' ? true : undefined,
        );
      });
    }
  }

  it('rejects a wrong password and a different v2 advert interval on both sides', async () => {
    // d1 runs keepalived, d2 lbctl; each pair of instances disagrees on one thing,
    // so neither side accepts the other's adverts and both end up MASTER.
    const auth = (password: string): InstanceConf => ({
      name: 'VI_AUTH',
      vrid: 91,
      priority: 100,
      vips: ['10.79.0.191/24'],
      version: 2,
      advertInt: 1,
      authPass: password,
    });
    const interval = (advertInt: number): InstanceConf => ({
      name: 'VI_INT',
      vrid: 92,
      priority: 100,
      vips: ['10.79.0.192/24'],
      version: 2,
      advertInt,
    });
    const keepalived = spawnDaemon(
      'keepalived',
      'd1',
      keepalivedConf('k', [auth('secret-a'), interval(1)]),
    );
    const lbctl = spawnDaemon(
      'lbctl',
      'd2',
      keepalivedConf('l', [auth('secret-b'), interval(2)]),
    ) as LbctlDaemon;
    await keepalived.waitForLine(
      'keepalived rejecting the password',
      (l) => l.text.includes('(VI_AUTH) received an invalid passwd!'),
      8000,
    );
    await keepalived.waitForLine(
      'keepalived rejecting the interval',
      (l) => /\(VI_INT\) advertisement interval mismatch mine=1 sec rcv'd=2 sec/.test(l.text),
      10_000,
    );
    const dropped = (instance: string, reason: string) =>
      lbctl.entries('advert dropped').some((e) => e.instance === instance && e.reason === reason)
        ? true
        : undefined;
    await waitFor('lbctl dropping the wrong password', () => dropped('VI_AUTH', 'authFailure'), {
      timeoutMs: 8000,
    });
    await waitFor(
      'lbctl dropping the other interval',
      () => dropped('VI_INT', 'advertIntervalMismatch'),
      { timeoutMs: 10_000 },
    );
    // Hearing no acceptable advert, each side becomes MASTER once its own
    // master-down interval ends (about 3.6 s at 1 s adverts, 6.6 s at 2 s).
    await keepalived.waitForState('VI_AUTH', 'MASTER', 10_000);
    await lbctl.waitForState('VI_AUTH', 'MASTER', 10_000);
    await keepalived.waitForState('VI_INT', 'MASTER', 10_000);
    await lbctl.waitForState('VI_INT', 'MASTER', 10_000);
    // …and stays MASTER: the other side's adverts are still rejected.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(keepalived.state('VI_AUTH'), 'MASTER');
    assert.equal(lbctl.state('VI_AUTH'), 'MASTER');
    assert.equal(keepalived.state('VI_INT'), 'MASTER');
    assert.equal(lbctl.state('VI_INT'), 'MASTER');
  });
});
