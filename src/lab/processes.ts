import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsenterArgs, run } from '../netns/exec.js';

/**
 * Long-running lab programs: started detached inside a namespace (so they
 * outlive `lbctl lab up`), logging to a file, known by a pid file.
 */
export class LabProcesses {
  constructor(private readonly stateDir: string) {}

  pidFile(name: string): string {
    return join(this.stateDir, `${name}.pid`);
  }

  logFile(name: string): string {
    return join(this.stateDir, `${name}.log`);
  }

  start(
    name: string,
    namespace: string,
    file: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv = {},
  ): number {
    const log = openSync(this.logFile(name), 'w');
    try {
      // nsenter execs the program in the namespace, so the pid is the program's.
      const child = spawn('nsenter', [...nsenterArgs(namespace), file, ...args], {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, ...env },
      });
      if (child.pid === undefined) throw new Error(`Cannot start ${name}: spawn failed`);
      child.unref();
      writeFileSync(this.pidFile(name), `${child.pid}\n`);
      return child.pid;
    } finally {
      closeSync(log);
    }
  }

  pid(name: string): number | undefined {
    const path = this.pidFile(name);
    if (!existsSync(path)) return undefined;
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && alive(pid) ? pid : undefined;
  }

  log(name: string): string {
    const path = this.logFile(name);
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** Waits until `name`'s log contains `text`; fails early when the process exits. */
  async waitForLog(name: string, text: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pid = this.pid(name);
    for (;;) {
      if (this.log(name).includes(text)) return;
      const gone = pid === undefined || !alive(pid);
      if (gone || Date.now() > deadline) {
        const tail = this.log(name).trim().split('\n').slice(-8).join('\n');
        throw new Error(
          `${name} ${gone ? 'exited' : `did not report "${text}" within ${timeoutMs} ms`}:\n${tail}`,
        );
      }
      await sleep(50);
    }
  }

  /** Stops `name` (SIGTERM, then SIGKILL after `graceMs`) and forgets it. */
  async stop(name: string, graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
    const pid = this.pid(name);
    rmSync(this.pidFile(name), { force: true });
    if (pid === undefined) return false;
    await stopPid(pid, graceMs, signal);
    return true;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function stopPid(
  pid: number,
  graceMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
    while (alive(pid)) await sleep(20);
  }
}

/** Processes whose network namespace is `namespace` (ip netns pids). */
export async function namespacePids(namespace: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', namespace]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((line) => Number.parseInt(line, 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
