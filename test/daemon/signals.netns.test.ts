/**
 * Signals sent to a running `lbctl up` (a VRRP master holding its VIP, XDP
 * attached, maps pinned, pid file written), as keepalived operators send
 * them, with a backup director on the segment: SIGUSR1 never opens Node's inspector and writes the data dump,
 * SIGUSR2 the statistics, SIGHUP and signals without a meaning leave it
 * running, and SIGTERM/SIGINT/SIGQUIT shut down leaving nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pinRoot } from '../../src/bpf/index.js';
import { Lab } from '../../src/lab/lab.js';
import { alive, sleep } from '../../src/lab/processes.js';
import { nsenterArgs } from '../../src/netns/exec.js';
import { uniqueName } from '../../src/netns/netns.js';
import { ANSWERED_WITHIN_S } from '../support/answered-within.js';
import { labForSuite } from '../support/lab-hooks.js';
import { waitFor } from '../support/wait.js';
import { NotifyReceiver } from './support/notify-receiver.js';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-signals-'));
// Random: two runs of the suite at once must not share namespaces or pins.
const prefix = uniqueName('sg');
const lab = new Lab({
  prefix,
  subnet: '10.82.0',
  reals: 1,
  directors: 2,
  vrrp: true,
  stateDir: scratch,
});
const director = 'director1';
const instance = lab.instance(director);
/** lbctl up runs with --run-dir set to the lab's state directory. */
const runDir = join(scratch, prefix);
const pidFile = join(runDir, `${instance}.pid`);

function daemonPid(): number {
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  assert.ok(Number.isInteger(pid) && alive(pid), `lbctl up runs (pid file ${pidFile})`);
  return pid;
}

/** TCP listeners in the director's namespace (ss -ltn), one "address:port" each. */
async function listeners(): Promise<string[]> {
  const { stdout } = await lab.exec(director, 'ss', ['-ltnH']);
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.trim().split(/\s+/)[3] ?? '');
}

async function xdpAttached(): Promise<boolean> {
  const { stdout } = await lab.exec(director, 'ip', ['-d', 'link', 'show', 'dev', 'eth0']);
  return /prog\/xdp/.test(stdout);
}

/** The daemon is fully up: VIP held, XDP on eth0, maps pinned, pid file, traffic served. */
async function assertServing(): Promise<void> {
  daemonPid();
  assert.ok(await lab.holdsVip(director), 'the master holds the VIP');
  assert.equal(await lab.holdsVip('director2'), false, 'the backup does not');
  assert.ok(await xdpAttached(), 'XDP is attached to eth0');
  assert.ok(existsSync(join(pinRoot, instance)), 'maps are pinned');
  assert.deepEqual(await lab.requests(2, 80, ANSWERED_WITHIN_S), ['rs1', 'rs1']);
}

async function assertNothingLeft(): Promise<void> {
  assert.equal(await lab.holdsVip(director), false, 'the VIP is released');
  assert.equal(await xdpAttached(), false, 'XDP is detached');
  assert.equal(existsSync(join(pinRoot, instance)), false, 'pins are removed');
  assert.equal(existsSync(pidFile), false, 'the pid file is removed');
}

describe('signals to lbctl up', () => {
  labForSuite(lab, scratch);

  it('the check below sees an inspector opened by SIGUSR1 (a bare node process)', async () => {
    // Proves the assertion on lbctl can fail: without a SIGUSR1 listener
    // Node opens the inspector on 127.0.0.1:9229.
    const child = spawn(
      'nsenter',
      [
        ...nsenterArgs(lab.namespace(director)),
        process.execPath,
        '-e',
        "process.stdout.write('ready\\n'); setTimeout(() => {}, 20000)",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      // Until Node has started, SIGUSR1's default action would kill it: wait for
      // it to say so rather than for a fixed time a loaded machine may exceed.
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code, signal) =>
          reject(new Error(`the bare node exited early (${code ?? signal})`)),
        );
      });
      child.kill('SIGUSR1');
      await waitFor('the inspector to listen', async () =>
        (await listeners()).includes('127.0.0.1:9229') ? true : undefined,
      );
    } finally {
      child.kill('SIGKILL');
    }
    await waitFor('the bare node to exit', async () =>
      (await listeners()).includes('127.0.0.1:9229') ? undefined : true,
    );
  });

  it('SIGUSR1 writes the data dump and never opens the inspector', async () => {
    await assertServing();
    const pid = daemonPid();
    const dump = join(runDir, `${instance}.data`);
    process.kill(pid, 'SIGUSR1');
    const text = await waitFor('the data dump', () =>
      existsSync(dump) ? readFileSync(dump, 'utf8') : undefined,
    );
    await sleep(500); // the inspector, had it been opened, listens within milliseconds
    assert.deepEqual(
      (await listeners()).filter((l) => l.endsWith(':9229')),
      [],
      'nothing listens on 9229',
    );
    assert.doesNotMatch(lab.directorLog(director), /Debugger listening/);
    assert.match(text, /^ VRRP instance = VI_1$/m);
    assert.match(text, /^ {3}state = MASTER$/m);
    assert.match(
      text,
      new RegExp(`^ {5}${lab.addresses.vip.replaceAll('.', '\\.')}/32 dev eth0$`, 'm'),
    );
    assert.match(text, new RegExp(`^ TCP ${lab.addresses.vip.replaceAll('.', '\\.')}:80 rr$`, 'm'));
    assert.match(
      text,
      new RegExp(`^ {3}-> ${lab.addresses.reals[0]?.replaceAll('.', '\\.')}:80 dr weight 1$`, 'm'),
    );
    assert.equal(daemonPid(), pid);
    await assertServing();
  });

  it('SIGUSR2 writes the statistics and keeps running', async () => {
    const pid = daemonPid();
    const stats = join(runDir, `${instance}.stats`);
    process.kill(pid, 'SIGUSR2');
    const text = await waitFor('the statistics dump', () =>
      existsSync(stats) ? readFileSync(stats, 'utf8') : undefined,
    );
    assert.match(text, /^ {3}adverts sent = [1-9]\d*$/m);
    // The requests of the tests above went through the data plane.
    assert.match(text, /^ {3}-> \S+:80: [1-9]\d* connections, [1-9]\d* packets/m);
    await assertServing();
  });

  it('SIGHUP asks for a reload and never kills the daemon', async () => {
    const pid = daemonPid();
    process.kill(pid, 'SIGHUP');
    await waitFor('the reload to be reported', () =>
      /received SIGHUP/.test(lab.directorLog(director)) ? true : undefined,
    );
    await sleep(300);
    assert.equal(daemonPid(), pid);
    await assertServing();
  });

  it('ignores signals without a meaning, real-time ones included', async () => {
    const pid = daemonPid();
    for (const signal of ['SIGALRM', 'SIGPWR', 'SIGTSTP', 'SIGTTOU', 'SIGPIPE', 'SIGXCPU']) {
      process.kill(pid, signal);
    }
    process.kill(pid, 40); // SIGRTMIN+6: Node has no name for it; its default terminates
    process.kill(pid, 64); // SIGRTMAX
    await sleep(500);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    // Running or sleeping, not stopped (T): on a loaded machine it may be on a core right now.
    assert.match(status, /^State:\s+[RS]/m, 'running or sleeping, not stopped by SIGTSTP');
    assert.match(lab.directorLog(director), /ignoring SIGALRM/);
    await assertServing();
  });

  for (const signal of ['SIGQUIT', 'SIGINT', 'SIGTERM'] as const) {
    it(`${signal} shuts down cleanly: no VIP, XDP, pins or pid file left`, async () => {
      await lab.start(director); // no-op while it runs
      await waitFor('the VIP', async () => ((await lab.holdsVip(director)) ? true : undefined), {
        timeoutMs: 8000,
      });
      await assertServing();
      const pid = daemonPid();
      process.kill(pid, signal);
      await waitFor('lbctl to exit', () => (alive(pid) ? undefined : true), { timeoutMs: 8000 });
      assert.match(lab.directorLog(director), new RegExp(`shutting down signal=${signal}`));
      assert.match(lab.directorLog(director), /lbctl stopped/);
      await assertNothingLeft();
    });
  }

  it('tells systemd (NOTIFY_SOCKET) READY=1 once up, RELOADING=1/READY=1 around SIGHUP, STOPPING=1', async () => {
    const receiver = await NotifyReceiver.listen(join(scratch, 'notify.sock'));
    try {
      process.env.NOTIFY_SOCKET = receiver.path; // the lab passes its environment on
      try {
        await lab.start(director);
      } finally {
        delete process.env.NOTIFY_SOCKET;
      }
      const ready = await receiver.waitFor('READY=1');
      // READY=1 comes after the data plane is attached and programmed.
      assert.ok(await xdpAttached(), 'XDP attached at READY=1');
      assert.ok(existsSync(join(pinRoot, instance)), 'maps pinned at READY=1');
      assert.match(receiver.messages[ready] ?? '', new RegExp(`^MAINPID=${daemonPid()}$`, 'm'));
      process.kill(daemonPid(), 'SIGHUP');
      const reloading = await receiver.waitFor('RELOADING=1', ready + 1);
      await receiver.waitFor('READY=1', reloading + 1);
      const pid = daemonPid();
      process.kill(pid, 'SIGTERM');
      await receiver.waitFor('STOPPING=1', reloading + 1);
      await waitFor('lbctl to exit', () => (alive(pid) ? undefined : true), { timeoutMs: 8000 });
      await assertNothingLeft();
    } finally {
      receiver.close();
    }
  });
});
