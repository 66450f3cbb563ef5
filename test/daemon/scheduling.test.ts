import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Config, SchedulingSettings } from '../../src/config/model.js';
import { SchedulingService } from '../../src/daemon/scheduling-service.js';
import { kernelHz } from '../../src/dataplane/kernel-hz.js';
import { hasCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'support', 'scheduling-child.js');
const SCHED_OTHER = 0;
const SCHED_RR = 2;

interface ThreadScheduling {
  readonly policy: number;
  readonly rtPriority: number;
  readonly nice: number;
}

/** policy, rt_priority and nice of one thread, from /proc/PID/task/TID/stat (proc(5)). */
function thread(pid: number, tid: number): ThreadScheduling {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after "(comm) ": field n of proc(5) is at index n - 3.
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return { policy: Number(f[38]), rtPriority: Number(f[37]), nice: Number(f[16]) };
}

const tids = (pid: number) => readdirSync(`/proc/${pid}/task`).map(Number);

function cpusAllowed(pid: number, tid: number): string {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? '';
}

/** Soft and hard RLIMIT_RTTIME as /proc/PID/limits shows them. */
function realtimeLimit(pid: number): string {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const line = limits.split('\n').find((l) => l.startsWith('Max realtime timeout'));
  return line?.slice('Max realtime timeout'.length).trim().split(/\s+/).slice(0, 2).join(' ') ?? '';
}

/** The child's answer: the addon's demotion count and what the metric reads. */
interface ChildAnswer {
  demotions?: number;
  reported?: number;
  /** The SCHED_RR priority the service says the loop runs at (0: normal). */
  priority?: number;
}

class Child {
  private readonly proc: ChildProcess;
  private readonly answers: AsyncIterator<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(settings: SchedulingSettings) {
    this.proc = spawn(process.execPath, [CHILD, JSON.stringify(settings)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.answers = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async next(): Promise<ChildAnswer> {
    const answer = await this.answers.next();
    if (answer.done) assert.fail(`the child ended: ${JSON.stringify(await this.exited)}`);
    return JSON.parse(answer.value) as ChildAnswer;
  }

  send(command: string): void {
    this.proc.stdin!.write(`${command}\n`);
  }

  async run(command: string): Promise<ChildAnswer> {
    this.send(command);
    return this.next();
  }

  async end(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null)
      this.proc.stdin!.end('exit\n');
    await this.exited;
  }
}

describe('event loop scheduling (vrrp_rt_priority, vrrp_priority, vrrp_rlimit_rttime, vrrp_cpu_affinity, vrrp_no_swap)', () => {
  it('applies to the event loop thread only, survives a long sliced pass and a long run, restores at close', async () => {
    const child = new Child({ realtimePriority: 10, nice: -5, cpuAffinity: [0], noSwap: false });
    try {
      await child.next();
      const pid = child.pid;
      const startedNice = thread(pid, pid).nice;
      const startedCpus = cpusAllowed(pid, pid);
      const threadsBefore = tids(pid);
      await child.run('apply');
      assert.deepEqual(thread(pid, pid), { policy: SCHED_RR, rtPriority: 10, nice: -5 });
      assert.equal(cpusAllowed(pid, pid), '0');
      assert.equal(realtimeLimit(pid), '10000 1010000');
      // V8's and libuv's threads, started before, keep their scheduling.
      for (const tid of threadsBefore.filter((t) => t !== pid)) {
        assert.equal(thread(pid, tid).policy, SCHED_OTHER, `thread ${tid}`);
        assert.equal(cpusAllowed(pid, tid), startedCpus, `thread ${tid}`);
      }
      // A thread started after (a worker, as a reload's parser) does not inherit realtime or the negative nice.
      await child.run('worker');
      const started = tids(pid).filter((t) => !threadsBefore.includes(t));
      assert.ok(started.length > 0);
      for (const tid of started) {
        assert.deepEqual(thread(pid, tid), { policy: SCHED_OTHER, rtPriority: 0, nice: 0 });
      }

      // 1.5 s of sliced work would be one 1.5 s run to RLIMIT_RTTIME (SIGKILL
      // at 10 ms) without the slices' sleeps; it runs through, still realtime.
      const afterSliced = (await child.run('sliced')).demotions ?? 0;
      assert.equal(afterSliced, 0);
      assert.equal(thread(pid, pid).policy, SCHED_RR);

      // 60 ms without a sleep: at 10 ms (rounded up to the kernel's tick) SIGXCPU
      // demotes the thread, long before the kernel's SIGKILL a second later...
      // (Under a loaded machine the spin was seen demoted twice: at least once.)
      const afterUnsliced = await child.run('unsliced');
      assert.ok((afterUnsliced.demotions ?? 0) > afterSliced);
      // lbctl_event_loop_realtime_demotions_total reads the same count.
      assert.equal(afterUnsliced.reported, afterUnsliced.demotions);
      // ...and within 100 ms the daemon gives realtime back, limit reset.
      await child.run('wait');
      assert.deepEqual(thread(pid, pid), { policy: SCHED_RR, rtPriority: 10, nice: -5 });
      assert.equal(realtimeLimit(pid), '10000 1010000');

      // Without the sleeps the pass is one long run to the kernel: demoted.
      assert.ok(((await child.run('sliced-without-sleeps')).demotions ?? 0) >= 2);

      await child.run('close');
      assert.deepEqual(thread(pid, pid), { policy: SCHED_OTHER, rtPriority: 0, nice: startedNice });
      assert.equal(cpusAllowed(pid, pid), startedCpus);
      // Back to how it started where the hard limit may be raised (CAP_SYS_RESOURCE);
      // either way it no longer counts: the thread is not realtime.
      assert.match(realtimeLimit(pid), /^(unlimited unlimited|\d+ 1010000)$/);
      await child.end();
      assert.deepEqual(await child.exited, { code: 0, signal: null });
    } finally {
      await child.end().catch(() => undefined);
    }
  });

  it('a reload applies changed settings and returns removed ones to how the thread started', async () => {
    const child = new Child({ realtimePriority: 10, nice: -5, noSwap: false });
    try {
      await child.next();
      const pid = child.pid;
      const startedNice = thread(pid, pid).nice;
      await child.run('apply');
      assert.deepEqual(thread(pid, pid), { policy: SCHED_RR, rtPriority: 10, nice: -5 });
      await child.run(
        `reload ${JSON.stringify({ realtimePriority: 20, realtimeLimitUs: 50_000, noSwap: false })}`,
      );
      assert.deepEqual(thread(pid, pid), { policy: SCHED_RR, rtPriority: 20, nice: startedNice });
      assert.equal(realtimeLimit(pid), '50000 1010000');
      await child.run(`reload ${JSON.stringify({ nice: -3, noSwap: false })}`);
      assert.deepEqual(thread(pid, pid), { policy: SCHED_OTHER, rtPriority: 0, nice: -3 });
      // Back to normal scheduling, slices no longer sleep: a long pass is not counted.
      const afterReload = await child.run('sliced');
      assert.equal(afterReload.demotions, 0);
      assert.equal(afterReload.reported, undefined);
    } finally {
      await child.end().catch(() => undefined);
    }
  });

  it('max_auto_priority raises a late loop to realtime one step at a time, up to the maximum, until a reload', async () => {
    // 50 ms late counts (min_auto_priority_delay 50000); the loop is held for 200 ms at a time.
    const child = new Child({ maxAutoPriority: 2, minAutoPriorityDelayUs: 50_000, noSwap: false });
    try {
      await child.next();
      const pid = child.pid;
      const nice = thread(pid, pid).nice;
      await child.run('apply');
      // Not late yet: normal scheduling.
      assert.equal((await child.run('wait')).priority, 0);
      assert.deepEqual(thread(pid, pid), { policy: SCHED_OTHER, rtPriority: 0, nice });
      // Late once: SCHED_RR at the lowest priority, under vrrp_rlimit_rttime's default.
      assert.equal((await child.run('block')).priority, 1);
      assert.deepEqual(thread(pid, pid), { policy: SCHED_RR, rtPriority: 1, nice });
      assert.equal(realtimeLimit(pid), '10000 1010000');
      // Late again: one higher; then no higher than max_auto_priority.
      assert.equal((await child.run('block')).priority, 2);
      assert.equal((await child.run('block')).priority, 2);
      assert.deepEqual(thread(pid, pid), { policy: SCHED_RR, rtPriority: 2, nice });
      // A reload starts from the configured settings again (keepalived: the same).
      await child.run(
        `reload ${JSON.stringify({ maxAutoPriority: 2, minAutoPriorityDelayUs: 50_000, noSwap: false })}`,
      );
      assert.deepEqual(thread(pid, pid), { policy: SCHED_OTHER, rtPriority: 0, nice });
      // Raised from a configured vrrp_rt_priority, not from the lowest.
      await child.run(
        `reload ${JSON.stringify({ realtimePriority: 5, maxAutoPriority: 6, minAutoPriorityDelayUs: 50_000, noSwap: false })}`,
      );
      assert.equal((await child.run('block')).priority, 6);
      assert.deepEqual(thread(pid, pid), { policy: SCHED_RR, rtPriority: 6, nice });
      // Without max_auto_priority a late loop is left as it is.
      await child.run(`reload ${JSON.stringify({ noSwap: false })}`);
      assert.equal((await child.run('block')).priority, 0);
      assert.deepEqual(thread(pid, pid), { policy: SCHED_OTHER, rtPriority: 0, nice });
    } finally {
      await child.end().catch(() => undefined);
    }
  });

  it('vrrp_no_swap locks the daemon in memory until close', async () => {
    const child = new Child({ noSwap: true });
    const lockedKb = () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/^VmLck:\s*(\d+) kB$/m.exec(status)?.[1]);
    };
    try {
      await child.next();
      assert.equal(lockedKb(), 0);
      await child.run('apply');
      assert.ok(lockedKb() > 0);
      await child.run('close');
      assert.equal(lockedKb(), 0);
    } finally {
      await child.end().catch(() => undefined);
    }
  });

  it("keepalived's own limits kill a sliced pass that does not sleep at HZ=250", async (t) => {
    if (kernelHz() !== 250) {
      t.skip('the kernel ticks at another rate: SIGXCPU may come before SIGKILL');
      return;
    }
    const child = new Child({ noSwap: false });
    try {
      await child.next();
      child.send('keepalived-limits');
      // The 4 ms tick first looks at 3 ticks (12 ms): past the 10 ms kill, before any SIGXCPU.
      assert.deepEqual(await child.exited, { code: null, signal: 'SIGKILL' });
    } finally {
      await child.end().catch(() => undefined);
    }
  });

  it('refuses a vrrp_cpu_affinity CPU this process may not run on, before changing anything', async () => {
    const refused = (err: unknown) =>
      hasCode(err, 'SCHEDULING_CPU_NOT_ALLOWED') &&
      /^Cannot bind the event loop to CPU 4000 \(vrrp_cpu_affinity\): this process may run on CPU [0-9, ]+ only$/.test(
        (err as Error).message,
      );
    const nice = getPriority(0);
    const service = new SchedulingService(
      { cpuAffinity: [0, 4000], nice: nice + 1, noSwap: false },
      silentLogger(),
    );
    await assert.rejects(service.start(), refused);
    assert.equal(getPriority(0), nice, 'the nice value was not changed either');
    const next = { global: { scheduling: { cpuAffinity: [4000], noSwap: false } } };
    assert.throws(() => service.planReload(next as unknown as Config), refused);
  });
});
