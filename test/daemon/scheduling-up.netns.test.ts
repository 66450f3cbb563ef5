/**
 * `lbctl up` with keepalived's VRRP process settings: a VRRP master in a
 * namespace of its own runs its VRRP thread (named lbctl-vrrp) at the
 * configured realtime priority and nice value, with the realtime limit in
 * /proc/PID/limits, while its main thread keeps normal scheduling; a SIGHUP
 * reload changes them, and SIGTERM stops it normally. With
 * max_auto_priority, a director held up (SIGSTOP) moves its VRRP thread to
 * realtime.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { repoRoot } from '../../src/config/repo-root.js';
import { nsenterArgs } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const SCHED_OTHER = 0;
const SCHED_RR = 2;

function scheduling(
  pid: number,
  tid: number,
): { policy: number; rtPriority: number; nice: number } {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return { policy: Number(f[38]), rtPriority: Number(f[37]), nice: Number(f[16]) };
}

/** The scheduling of the daemon's one thread named lbctl-vrrp. */
function loopThread(pid: number): { policy: number; rtPriority: number; nice: number } {
  const named = readdirSync(`/proc/${pid}/task`).filter(
    (tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'lbctl-vrrp',
  );
  assert.equal(named.length, 1, `threads named lbctl-vrrp: ${named.join(' ')}`);
  return scheduling(pid, Number(named[0]));
}

function realtimeLimit(pid: number): string {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max realtime timeout'));
  return line?.slice('Max realtime timeout'.length).trim().split(/\s+/).slice(0, 2).join(' ') ?? '';
}

const config = (instance: string, globals: string) =>
  `global_defs {\n  lbctl_instance_name ${instance}\n${globals}\n}\nvrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 61\n  priority 200\n  advert_int 1\n  virtual_ipaddress {\n    10.83.0.100/24\n  }\n}\n`;

interface Director {
  readonly pid: number;
  readonly file: string;
  readonly instance: string;
  readonly pidFile: string;
  log(): string;
  readonly exited: Promise<number | null>;
}

/** `lbctl up` with `globals` in global_defs, a VRRP master in a namespace of its own, torn down with the test. */
async function startDirector(t: TestContext, globals: string): Promise<Director> {
  const ns = uniqueName('sch');
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-sched-up-'));
  const instance = uniqueName('sched');
  const file = join(dir, 'keepalived.conf');
  let daemon: ChildProcess | undefined;
  teardown(async () => {
    if (daemon?.exitCode === null) daemon.kill('SIGKILL');
    await deleteNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  }, t);
  await createNamespace(ns);
  await createVethPair(
    { namespace: ns, name: 'eth0', address: '10.83.0.1/24' },
    { namespace: ns, name: 'eth1' },
  );
  writeFileSync(file, config(instance, globals));
  let log = '';
  daemon = spawn(
    'nsenter',
    [
      ...nsenterArgs(ns),
      process.execPath,
      join(repoRoot(), 'bin', 'lbctl'),
      'up',
      file,
      '--run-dir',
      dir,
      '--log-format',
      'json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  daemon.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  daemon.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => daemon?.once('exit', resolve));
  const pidFile = join(dir, `${instance}.pid`);
  await waitFor(
    () => `lbctl is up:\n${log}`,
    () => log.includes('lbctl is up'),
    { timeoutMs: 30_000 },
  );
  const pid = Number(readFileSync(pidFile, 'utf8'));
  return { pid, file, instance, pidFile, log: () => log, exited };
}

describe('lbctl up with vrrp_rt_priority, vrrp_priority and vrrp_rlimit_rttime', () => {
  it('runs its event loop with them, takes new ones at reload, stops normally', async (t) => {
    const director = await startDirector(
      t,
      '  vrrp_rt_priority 10\n  vrrp_priority -5\n  vrrp_rlimit_rttime 20000',
    );
    const { pid, file, instance, pidFile, log } = director;
    assert.deepEqual(loopThread(pid), { policy: SCHED_RR, rtPriority: 10, nice: -5 });
    assert.deepEqual(
      scheduling(pid, pid),
      { policy: SCHED_OTHER, rtPriority: 0, nice: getPriority() },
      'the main thread keeps normal scheduling',
    );
    assert.equal(realtimeLimit(pid), '20000 1020000');
    assert.match(
      log(),
      /event loop scheduling: SCHED_RR priority 10, rlimit_rttime 20000 µs, nice -5/,
    );

    // The same settings again: the reload says they are unchanged.
    process.kill(pid, 'SIGHUP');
    await waitFor(
      () => `the unchanged reload:\n${log()}`,
      () => /reloaded: scheduling: unchanged, SCHED_RR priority 10/.test(log()) || undefined,
      { timeoutMs: 30_000 },
    );

    writeFileSync(file, config(instance, '  vrrp_rt_priority 20'));
    process.kill(pid, 'SIGHUP');
    await waitFor(
      () => `the reload:\n${log()}`,
      () => loopThread(pid).rtPriority === 20 || undefined,
      { timeoutMs: 30_000 },
    );
    await waitFor(
      () => `the reload's summary:\n${log()}`,
      () => /reloaded: scheduling: SCHED_RR priority 20/.test(log()) || undefined,
      { timeoutMs: 10_000 },
    );
    // vrrp_priority removed: back to the nice value it started with (this process's).
    assert.deepEqual(loopThread(pid), { policy: SCHED_RR, rtPriority: 20, nice: getPriority() });

    process.kill(pid, 'SIGTERM');
    assert.equal(await director.exited, 0, log());
    assert.equal(existsSync(pidFile), false);
    assert.doesNotMatch(log(), /ran past vrrp_rlimit_rttime/);
  });

  it('max_auto_priority: a director held up past min_auto_priority_delay moves its loop to realtime', async (t) => {
    const director = await startDirector(
      t,
      '  max_auto_priority 3\n  min_auto_priority_delay 100000',
    );
    const { pid, log } = director;
    assert.equal(loopThread(pid).policy, SCHED_OTHER);
    assert.match(
      log(),
      /event loop scheduling: automatic realtime up to priority 3 when 100000 µs late/,
    );
    // Stopped for 400 ms, as a starved process would be: its timers run late when it resumes.
    process.kill(pid, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 400));
    process.kill(pid, 'SIGCONT');
    await waitFor(
      () => `the raise:\n${log()}`,
      () => loopThread(pid).policy === SCHED_RR || undefined,
      { timeoutMs: 10_000 },
    );
    assert.equal(loopThread(pid).rtPriority, 1);
    // Logged right after the raise; the line may still be on its way through the pipe.
    await waitFor(
      () => `the raise's log line:\n${log()}`,
      () =>
        /the event loop ran a timer \d+ ms late \(min_auto_priority_delay 100000 µs\): now SCHED_RR priority 1 \(max_auto_priority 3\)/.test(
          log(),
        ) || undefined,
      { timeoutMs: 10_000 },
    );
    process.kill(pid, 'SIGTERM');
    assert.equal(await director.exited, 0, log());
  });
});
