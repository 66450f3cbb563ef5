/**
 * Two lbctl directors (VRRP, XDP DR, rr) and a client holding a keep-alive
 * TCP connection through the master. The master's lbctl is killed with
 * SIGKILL; the backup takes the VIP. With connection sync the backup learnt
 * the flow and the connection carries on to the same real; without it the
 * backup has never seen the flow and its kernel resets it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { labForSuite } from '../support/lab-hooks.js';
import { SLOWDOWN } from '../support/slowdown.js';
import { waitFor } from '../support/wait.js';
import { keepAliveSession, syncPairLab } from './keepalive-lab.js';

function pairSuite(sync: boolean): void {
  const scratch = mkdtempSync(join(tmpdir(), 'lbctl-sync-'));
  const lab = syncPairLab({
    sync,
    subnet: '10.79.0',
    stateDir: join(scratch, 'lab'),
    timeScale: SLOWDOWN,
  });
  labForSuite(lab, scratch);

  it(`a keep-alive connection ${sync ? 'survives' : 'is reset by'} kill -9 of the master`, async (t) => {
    const session = await keepAliveSession(lab, t, 10_000 * SLOWDOWN);
    const { first } = session;
    assert.match(first.answer ?? '', /^rs[12]$/, JSON.stringify(first));

    const backupMetrics = async () =>
      (await lab.exec('director2', 'curl', ['-s', 'http://127.0.0.1:9477/metrics'])).stdout;
    // With sync, the kill waits until the backup has stored the flow (the session's is the
    // lab's only one); without it there is nothing to wait for.
    if (sync) {
      await waitFor(
        'director2 to store the flow',
        async () =>
          /^lbctl_sync_stored_connections_total\{result="filled"\} [1-9]/m.test(
            await backupMetrics(),
          ),
        { timeoutMs: 10_000 * SLOWDOWN, intervalMs: 100 },
      );
    }
    await lab.stop('director1', 'SIGKILL');
    await waitFor('director2 to take the VIP', () => lab.holdsVip('director2'), {
      timeoutMs: 15_000 * SLOWDOWN,
      intervalMs: 100,
    });
    const second = await session.again();
    if (sync) {
      assert.deepEqual(second, { answer: first.answer }, lab.directorLog('director2'));
      // director2 stored the flow while backup and now sends as master.
      const stdout = await backupMetrics();
      assert.match(
        stdout,
        /^lbctl_sync_stored_connections_total\{result="filled"\} [1-9]/m,
        stdout,
      );
      assert.match(stdout, /^lbctl_sync_role\{role="master"\} 1$/m);
    } else {
      assert.equal(second.answer, undefined, JSON.stringify(second));
      assert.match(second.error ?? '', /ECONNRESET|closed/, JSON.stringify(second));
    }
  });
}

/**
 * A graceful stop right after a connection opened: the master sends what its
 * data plane reported since its last 100 ms interval before it stops, so the
 * backup has the flow when it takes the VIP.
 */
function gracefulStopSuite(): void {
  const scratch = mkdtempSync(join(tmpdir(), 'lbctl-sync-'));
  const lab = syncPairLab({
    sync: true,
    subnet: '10.79.0',
    stateDir: join(scratch, 'lab'),
    timeScale: SLOWDOWN,
  });
  labForSuite(lab, scratch);

  it('a connection opened just before a graceful stop of the master reaches the backup', async (t) => {
    const session = await keepAliveSession(lab, t, 10_000 * SLOWDOWN);
    const { first } = session;
    assert.match(first.answer ?? '', /^rs[12]$/, JSON.stringify(first));
    // No wait for the next send interval: the stop itself must send the flow.
    await lab.stop('director1', 'SIGTERM');
    await waitFor('director2 to take the VIP', () => lab.holdsVip('director2'), {
      timeoutMs: 15_000 * SLOWDOWN,
      intervalMs: 100,
    });
    const { stdout } = await lab.exec('director2', 'curl', ['-s', 'http://127.0.0.1:9477/metrics']);
    assert.match(
      stdout,
      /^lbctl_sync_stored_connections_total\{result="filled"\} [1-9]/m,
      lab.directorLog('director1').slice(-3000),
    );
    assert.deepEqual(await session.again(), { answer: first.answer });
  });
}

describe('failover of a keep-alive connection between two lbctl directors', () => {
  describe('with connection sync, graceful stop of the master', () => gracefulStopSuite());
  describe('with connection sync (lvs_sync_daemon)', () => pairSuite(true));
  describe('without connection sync', () => pairSuite(false));
});
