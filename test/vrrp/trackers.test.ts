import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveCredentials } from '../../src/checkers/system-user.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/time/clock.js';
import { commandArgv, runCommand } from '../../src/vrrp/command.js';
import { decodeAdvert } from '../../src/vrrp/packet.js';
import {
  effectivePriority,
  fileContribution,
  weightedContribution,
} from '../../src/vrrp/priority.js';
import { ScriptTracker } from '../../src/vrrp/trackers/script-tracker.js';
import { waitFor } from '../support/wait.js';
import { electedPair, instanceOptions, TestCluster } from './support/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'lbctl-vrrp-track-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('effective priority', () => {
  it('applies keepalived weight rules', () => {
    assert.deepEqual(weightedContribution(true, 2, false), { fault: false, delta: 2 });
    assert.deepEqual(weightedContribution(false, 2, false), { fault: false, delta: 0 });
    assert.deepEqual(weightedContribution(false, -20, false), { fault: false, delta: -20 });
    assert.deepEqual(weightedContribution(true, -20, false), { fault: false, delta: 0 });
    assert.deepEqual(weightedContribution(true, 10, true), { fault: false, delta: -10 });
    assert.deepEqual(weightedContribution(false, -10, true), { fault: false, delta: 10 });
    assert.deepEqual(weightedContribution(false, 0, false), { fault: true, delta: 0 });
    assert.deepEqual(weightedContribution(true, 0, true), { fault: true, delta: 0 });
  });

  it('applies keepalived track_file rules', () => {
    assert.deepEqual(fileContribution(3, 10, false), { fault: false, delta: 30 });
    assert.deepEqual(fileContribution(3, 10, true), { fault: false, delta: -30 });
    assert.deepEqual(fileContribution(-30, 10, false), { fault: true, delta: 0 });
    assert.deepEqual(fileContribution(1, 0, false), { fault: true, delta: 0 });
    assert.deepEqual(fileContribution(0, 0, false), { fault: false, delta: 0 });
  });

  it('clamps to 1..254 and never changes the owner', () => {
    assert.equal(effectivePriority(250, [{ fault: false, delta: 10 }]).priority, 254);
    assert.equal(effectivePriority(10, [{ fault: false, delta: -50 }]).priority, 1);
    assert.equal(effectivePriority(255, [{ fault: false, delta: -50 }]).priority, 255);
    assert.equal(effectivePriority(255, [{ fault: true, delta: 0 }]).fault, true);
  });
});

describe('commands', () => {
  it('execs directly unless the string needs a shell', () => {
    assert.deepEqual(commandArgv('killall -0 nginx'), ['killall', '-0', 'nginx']);
    assert.deepEqual(commandArgv('/bin/notify.sh master', ['INSTANCE']), [
      '/bin/notify.sh',
      'master',
      'INSTANCE',
    ]);
    // No shell, as in keepalived: shell syntax is passed to the program as words.
    assert.deepEqual(commandArgv('test -f /x && true', ['a']), [
      'test',
      '-f',
      '/x',
      '&&',
      'true',
      'a',
    ]);
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(dir, 'child.pid');
    const result = await runCommand(
      { command: `/bin/sh -c "sleep 30 & echo $! > ${pidFile}; sleep 30"` },
      // Long enough for a loaded machine to start sh and write the pid before the kill.
      { clock: systemClock, timeoutMs: 2000 },
    );
    assert.equal(result.timedOut, true);
    const child = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(child > 0);
    await waitFor(`background child ${child} to die`, () => !processAlive(child));
  });

  it('runs as the configured user', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'lbctl-vrrp-user-'));
    chmodSync(shared, 0o777);
    try {
      const out = join(shared, 'uid');
      const result = await runCommand(
        { command: `/bin/sh -c "id -u > ${out}"`, user: 'nobody' },
        { clock: systemClock, timeoutMs: 10_000 },
      );
      assert.equal(result.exitCode, 0);
      const nobody = await resolveCredentials({ user: 'nobody' });
      assert.equal(readFileSync(out, 'utf8').trim(), String(nobody.uid));
      assert.notEqual(nobody.uid, 0);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it('refuses an unknown user by name', async () => {
    await assert.rejects(
      runCommand(
        { command: '/bin/true', user: 'lbctl-no-such-user' },
        { clock: systemClock, timeoutMs: 2000 },
      ),
      /Cannot run script as user "lbctl-no-such-user": no such user/,
    );
  });

  it('reports a missing program as exit code 127 without throwing', async () => {
    const result = await runCommand(
      { command: '/nonexistent/lbctl-test' },
      { clock: systemClock, timeoutMs: 10_000 },
    );
    assert.equal(result.exitCode, 127);
  });
});

function processAlive(pid: number): boolean {
  try {
    // A zombie waiting for its reaper is dead for our purpose.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

describe('track_script', () => {
  it('needs `fall` failures to go down and `rise` successes to come back', async (t) => {
    const flag = join(dir, 'healthy');
    writeFileSync(flag, '');
    const tracker = new ScriptTracker(
      {
        name: 'chk',
        command: `test -e ${flag}`,
        intervalMs: 40,
        // A run that times out counts as a failure: generous, as the counts are the subject.
        timeoutMs: 10_000,
        fall: 3,
        rise: 2,
      },
      { clock: systemClock, logger: silentLogger() },
    );
    const changes: boolean[] = [];
    const runs: boolean[] = [];
    // The runs recorded when each change fired: more runs may finish before a waitFor sees it.
    const runsAtChange: number[] = [];
    tracker.onChange((up) => {
      changes.push(up);
      runsAtChange.push(runs.length);
    });
    const record = tracker.record.bind(tracker);
    tracker.record = (success: boolean) => {
      runs.push(success);
      record(success);
    };
    t.after(() => tracker.close());
    tracker.start();
    await waitFor('two successful runs', () => runs.length >= 2);
    unlinkSync(flag);
    const failedFrom = runs.length;
    await waitFor('script to go down', () => changes.length === 1);
    assert.deepEqual(changes, [false]);
    assert.equal(runs.slice(failedFrom, runsAtChange[0]).filter((r) => !r).length, 3);
    writeFileSync(flag, '');
    const recoveredFrom = runs.length;
    await waitFor('script to come back', () => changes.length === 2);
    assert.equal(runs.slice(recoveredFrom, runsAtChange[1]).filter((r) => r).length, 2);
  });

  it('a failing script lowers priority below the peer and the peer preempts', async (t) => {
    const flag = join(dir, 'nginx-running');
    writeFileSync(flag, '');
    // Real time: the script runs for real; fast v3 timers keep the test short.
    const c = new TestCluster(systemClock);
    const scripts = [
      {
        name: 'chk_nginx',
        command: `test -e ${flag}`,
        intervalMs: 30,
        timeoutMs: 10_000,
        weight: -60,
        fall: 2,
        rise: 1,
      },
    ];
    const fast = { version: 3 as const, advertIntMs: 50 };
    const a = c.add(
      'a',
      '10.0.0.1',
      [instanceOptions({ ...fast, priority: 100, trackScripts: [{ name: 'chk_nginx' }] })],
      { scripts },
    );
    const b = c.add('b', '10.0.0.2', [instanceOptions({ ...fast, priority: 80 })]);
    t.after(async () => {
      await a.engine.stop();
      await b.engine.stop();
    });
    a.engine.start();
    b.engine.start();
    await waitFor(
      'a to win the election',
      () => c.state('a') === 'MASTER' && c.state('b') === 'BACKUP',
    );
    unlinkSync(flag);
    await waitFor('priority 100 - 60', () => a.engine.instance('VI_1').priority === 40);
    await waitFor('b to preempt', () => c.state('b') === 'MASTER' && c.state('a') === 'BACKUP');
    writeFileSync(flag, '');
    await waitFor(
      'a to take back over',
      () => c.state('a') === 'MASTER' && c.state('b') === 'BACKUP',
    );
    assert.ok(existsSync(flag));
  });
});

describe('track_interface and track_file', () => {
  it('an unweighted interface going down puts a master in FAULT with a priority 0 advert', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [
      instanceOptions({ priority: 150, trackInterfaces: [{ interface: 'eth1' }] }),
    ]);
    const b = c.add('b', '10.0.0.2', [instanceOptions({ priority: 100 })]);
    a.engine.start();
    b.engine.start();
    c.clock.advance(5000);
    assert.equal(c.state('a'), 'MASTER');
    a.links.set('eth1', false);
    assert.equal(c.state('a'), 'FAULT');
    assert.equal(decodeAdvert(c.network.sentBy('a').at(-1)!.payload, 4).priority, 0);
    assert.equal(a.effects.addresses.size, 0);
    c.clock.advance(609.375 - 1);
    assert.equal(c.state('b'), 'BACKUP');
    c.clock.advance(1);
    assert.equal(c.state('b'), 'MASTER');
    a.links.set('eth1', true);
    assert.equal(c.state('a'), 'BACKUP');
    c.clock.advance(4000);
    assert.equal(c.state('a'), 'MASTER', 'preempts back');
  });

  it("the instance's own interface is tracked: down is FAULT (VIPs released), up is BACKUP then election", () => {
    const { c, a } = electedPair();
    assert.equal(c.state('a'), 'MASTER');
    assert.ok(a.effects.addresses.size > 0);
    a.links.set('eth0', false);
    assert.equal(c.state('a'), 'FAULT');
    assert.equal(a.effects.addresses.size, 0, 'the VIP is released on the downed director');
    c.clock.advance(5000);
    assert.equal(c.state('b'), 'MASTER', 'the backup takes over');
    assert.equal(c.state('a'), 'FAULT', 'no election while the link is down');
    a.links.set('eth0', true);
    assert.equal(c.state('a'), 'BACKUP');
    c.clock.advance(4000);
    assert.equal(c.state('a'), 'MASTER', 'rejoins and preempts back');
    assert.equal(c.state('b'), 'BACKUP');
  });

  it('starts in FAULT when its interface is down, and dont_track_primary ignores it', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [instanceOptions({ priority: 150 })]);
    a.links.set('eth0', false);
    a.engine.start();
    assert.equal(c.state('a'), 'FAULT');
    const d = new TestCluster();
    const n = d.add('n', '10.0.0.1', [instanceOptions({ priority: 150, trackPrimary: false })]);
    n.links.set('eth0', false);
    n.engine.start();
    d.clock.advance(5000);
    assert.equal(d.state('n'), 'MASTER');
  });

  it('a weighted interface changes priority instead', () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [
      instanceOptions({ priority: 100, trackInterfaces: [{ interface: 'eth1', weight: -30 }] }),
    ]);
    a.engine.start();
    a.links.set('eth1', false);
    assert.equal(a.engine.instance('VI_1').priority, 70);
    assert.equal(c.state('a'), 'BACKUP');
  });

  it('track_file multiplies the value by the weight and FAULTs below -253', async (t) => {
    const file = join(dir, 'prio');
    writeFileSync(file, '2\n');
    const c = new TestCluster();
    const a = c.add(
      'a',
      '10.0.0.1',
      [instanceOptions({ priority: 100, trackFiles: [{ name: 'prio_file' }] })],
      {
        trackFiles: [{ name: 'prio_file', path: file, weight: 10 }],
      },
    );
    t.after(() => a.engine.stop());
    a.engine.start();
    const instance = a.engine.instance('VI_1');
    assert.equal(instance.priority, 120);
    writeFileSync(file, '-3\n');
    await waitFor('file change to be seen', () => instance.priority === 70);
    writeFileSync(file, '-26\n');
    await waitFor('FAULT for -260', () => instance.state === 'FAULT');
    unlinkSync(file);
    await waitFor(
      'missing file reads as 0',
      () => instance.state === 'BACKUP' && instance.priority === 100,
    );
  });
});
