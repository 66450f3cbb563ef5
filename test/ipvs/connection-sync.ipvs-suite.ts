/**
 * Connection sync between kernel IPVS and lbctl's XDP data plane, both ways,
 * on the IPVS protocol's wire format. director1 runs its service on kernel
 * IPVS (lbctl starts the kernel's sync daemon over generic netlink, as
 * keepalived's lvs_sync_daemon does); director2 runs it on XDP (lbctl's own
 * sender and receiver). Runs in the VM tier (test/kernels/ipvs.vm.test.ts).
 *
 * kernel -> lbctl: a keep-alive connection through director1's IPVS is
 * synced by the kernel's master daemon to lbctl on director2; after
 * director1's lbctl is killed, the connection carries on through director2's
 * XDP table. lbctl -> kernel: director1's kernel then runs a backup daemon
 * (ipvsadm --start-daemon backup), and a connection through director2's XDP
 * appears in its `ipvsadm -Lnc`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { labForSuite } from '../support/lab-hooks.js';
import { waitFor } from '../support/wait.js';
import { keepAliveSession, lineService, PORT } from '../sync/keepalive-lab.js';

/** Everything in the VM runs emulated (TCG): starting node there takes seconds. */
const SCALE = 10;
const VRID = 77;

describe('connection sync between kernel IPVS and lbctl XDP (IPVS sync protocol v1)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-sync-'));
  const lab = new Lab({
    prefix: 'lbis',
    subnet: '10.79.0',
    // One real: every node process costs seconds to start under emulation.
    reals: 1,
    directors: 2,
    vrrp: true,
    connectionSync: true,
    directorDataPlanes: ['ipvs', 'xdp'],
    virtualServers: lineService,
    timeScale: SCALE,
    stateDir: join(scratch, 'lab'),
  });
  labForSuite(lab, scratch);

  const metric = async (director: string, pattern: RegExp): Promise<number> => {
    const { stdout } = await lab.exec(director, 'curl', ['-s', 'http://127.0.0.1:9477/metrics']);
    return Number(pattern.exec(stdout)?.[1] ?? 0);
  };

  it('kernel -> lbctl: an IPVS connection synced by the kernel survives on the XDP director', async (t) => {
    const daemons = await lab.exec('director1', 'ipvsadm', ['-L', '--daemon']);
    assert.match(daemons.stdout, new RegExp(`master sync daemon.*syncid=${VRID}`), daemons.stdout);

    const session = await keepAliveSession(lab, t, 10_000 * SCALE);
    assert.equal(session.first.answer, 'rs1', JSON.stringify(session.first));
    // The kernel syncs a connection at its third packet (sync_threshold 3): SYN, ACK, the line.
    await waitFor(
      'director2 to store the connection the kernel sent',
      () => metric('director2', /^lbctl_sync_stored_connections_total\{result="filled"\} (\d+)/m),
      { timeoutMs: 10_000 * SCALE, intervalMs: 500 },
    );

    await lab.stop('director1', 'SIGKILL');
    await waitFor('director2 to take the VIP', () => lab.holdsVip('director2'), {
      timeoutMs: 20_000 * SCALE,
      intervalMs: 200,
    });
    const second = await session.again();
    assert.deepEqual(second, { answer: session.first.answer }, lab.directorLog('director2'));
  });

  it('lbctl -> kernel: a connection through the XDP director appears in ipvsadm -Lnc', async (t) => {
    // director1's lbctl is gone; its kernel keeps IPVS. Run the kernel's backup daemon there.
    await lab.exec('director1', 'ipvsadm', ['--stop-daemon', 'master']).catch(() => undefined);
    await lab.exec('director1', 'ipvsadm', [
      '--start-daemon',
      'backup',
      '--mcast-interface',
      'eth0',
      '--syncid',
      String(VRID),
    ]);
    const session = await keepAliveSession(lab, t, 10_000 * SCALE);
    assert.equal(session.first.answer, 'rs1');
    const real = lab.addresses.reals[0];
    const vip = lab.addresses.vip;
    const line = await waitFor(
      'the connection in director1 ipvsadm -Lnc',
      async () => {
        const { stdout } = await lab.exec('director1', 'ipvsadm', ['-Lnc']);
        return stdout
          .split('\n')
          .map((l) => l.trim().split(/\s+/))
          .find(
            (f) =>
              f[0] === 'TCP' &&
              f[3]?.startsWith(`${lab.addresses.client}:`) &&
              f[4] === `${vip}:${PORT}` &&
              f[2] === 'ESTABLISHED',
          );
      },
      { timeoutMs: 10_000 * SCALE, intervalMs: 500 },
    );
    assert.equal(line[5], `${real}:${PORT}`, line.join(' '));
  });
});
