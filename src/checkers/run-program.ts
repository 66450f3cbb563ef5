import { spawn } from 'node:child_process';
import type { CommandLine } from './command-line.js';
import type { Credentials } from './system-user.js';

/** How a program ended: an exit code, or the signal that killed it. */
export interface ProgramExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunProgramOptions {
  readonly credentials?: Credentials;
  /** Aborting terminates the program's whole process group and rejects. */
  readonly signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL for a program that will not stop. */
  readonly killGraceMs?: number;
}

/**
 * Runs a program in its own process group with stdio discarded. A script that
 * forks helpers is stopped as a whole: on abort the group gets SIGTERM, then
 * SIGKILL after the grace time if anything is left.
 */
export function runProgram(
  command: CommandLine,
  options: RunProgramOptions = {},
): Promise<ProgramExit> {
  const signal = options.signal;
  return new Promise<ProgramExit>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(command.file, [...command.args], {
      detached: true,
      stdio: 'ignore',
      ...(options.credentials !== undefined
        ? { uid: options.credentials.uid, gid: options.credentials.gid }
        : {}),
    });
    const pid = child.pid;
    const onAbort = (): void => {
      if (pid !== undefined) terminateGroup(pid, options.killGraceMs ?? 2000);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.once('exit', (code, exitSignal) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal: exitSignal });
    });
  });
}

function terminateGroup(pid: number, graceMs: number): void {
  if (!signalGroup(pid, 'SIGTERM')) return;
  const escalate = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
  escalate.unref();
}

/** False when the group no longer exists. */
function signalGroup(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}
