import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InstanceLock } from '../../src/daemon/instance-lock.js';
import { isLbctlUp } from '../../src/daemon/process-identity.js';
import { hasCode } from '../../src/errors.js';

describe('instance lock', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lbctl-lock-'));
  });
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A live process with the given argv (after node), gone when the suite ends. */
  function live(args: string[]): Promise<number> {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', reject);
    });
  }

  /** A script named `lbctl` that just waits: looks like `lbctl up` in /proc. */
  const fakeLbctl = () => {
    const path = join(dir, 'lbctl');
    writeFileSync(path, 'setTimeout(() => {}, 60_000);\n');
    return live([path, 'up', '/etc/lbctl/lbctl.yaml']);
  };

  it('takes over a pid file naming a live process that is not lbctl', async () => {
    const other = await live(['-e', 'setTimeout(() => {}, 60_000)']);
    const runDir = join(dir, 'other');
    const lockPath = join(runDir, 'lb.pid');
    InstanceLock.acquire('lb', runDir).release();
    writeFileSync(lockPath, `${other}\n`);
    const lock = InstanceLock.acquire('lb', runDir);
    assert.equal(readFileSync(lockPath, 'utf8'), `${process.pid}\n`);
    lock.release();
  });

  it('refuses while a live lbctl up that wrote the pid file runs', async () => {
    const owner = await fakeLbctl();
    const runDir = join(dir, 'held');
    InstanceLock.acquire('lb', runDir).release();
    writeFileSync(join(runDir, 'lb.pid'), `${owner}\n`);
    assert.throws(
      () => InstanceLock.acquire('lb', runDir),
      (err) =>
        hasCode(err, 'INSTANCE_RUNNING') && /lbctl \(pid \d+\) already runs it/.test(String(err)),
    );
  });

  it('takes over when the lbctl named started after the pid file was written (pid reused)', async () => {
    const owner = await fakeLbctl();
    const runDir = join(dir, 'reused');
    InstanceLock.acquire('lb', runDir).release();
    const lockPath = join(runDir, 'lb.pid');
    writeFileSync(lockPath, `${owner}\n`);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(lockPath, anHourAgo, anHourAgo);
    InstanceLock.acquire('lb', runDir).release();
  });

  it('recognises lbctl up command lines', () => {
    assert.ok(isLbctlUp(['node', '/usr/lib/node_modules/lbctl/bin/lbctl', 'up', 'x.yaml']));
    // Node flags before the script.
    assert.ok(isLbctlUp(['node', '--max-semi-space-size=1', '/usr/sbin/lbctl', 'up', 'x.yaml']));
    assert.ok(isLbctlUp(['/usr/bin/node', '/opt/lbctl/dist/src/cli/main.js', 'up', 'x.conf']));
    assert.ok(!isLbctlUp(['node', '/usr/bin/lbctl', 'validate', 'x.conf']));
    assert.ok(!isLbctlUp(['sleep', '30']));
  });
});
