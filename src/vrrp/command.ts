import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LbctlError } from '../errors.js';
import type { Clock } from '../time/clock.js';

/** A command line as configured (keepalived `script`/`notify_*` strings), with its user. */
export interface CommandSpec {
  readonly command: string;
  /** Run as this user (name or numeric id); the group defaults to the user's. */
  readonly user?: string;
  readonly group?: string;
}

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
}

// Characters that only a shell gives meaning to; without them we exec directly.
const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[\]#~=%{}\n]/;

export function needsShell(command: string): boolean {
  return SHELL_SYNTAX.test(command);
}

/** argv for `command` plus `extraArgs`, through /bin/sh only when the string needs one. */
export function commandArgv(command: string, extraArgs: readonly string[] = []): string[] {
  const trimmed = command.trim();
  if (trimmed === '') {
    throw new LbctlError('VRRP_EMPTY_COMMAND', 'Cannot run command: the command string is empty');
  }
  if (needsShell(trimmed)) {
    // "$@" passes the extra arguments through the shell untouched.
    const script = extraArgs.length > 0 ? `${trimmed} "$@"` : trimmed;
    return ['/bin/sh', '-c', script, 'sh', ...extraArgs];
  }
  return [...trimmed.split(/\s+/), ...extraArgs];
}

/**
 * Runs a command in its own process group without blocking the event loop.
 * On timeout the whole group is killed (SIGKILL), so children the command
 * started do not outlive it.
 */
export function runCommand(
  spec: CommandSpec,
  options: { clock: Clock; timeoutMs: number; extraArgs?: readonly string[] },
): Promise<CommandResult> {
  const [file, ...args] = commandArgv(spec.command, options.extraArgs);
  const identity = spec.user === undefined ? {} : resolveUser(spec.user, spec.group);
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    const child = spawn(file!, args, { detached: true, stdio: 'ignore', ...identity });
    const timer = options.clock.setTimer(options.timeoutMs, () => {
      timedOut = true;
      killGroup(child.pid);
    });
    const finish = (result: CommandResult) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(result);
    };
    child.once('error', () => finish({ exitCode: 127, signal: null, timedOut }));
    child.once('exit', (exitCode, signal) => {
      // A timed-out command may leave children behind in its group.
      if (timedOut) killGroup(child.pid);
      finish({ exitCode, signal, timedOut });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/** uid/gid for a user name (or number) and optional group, from /etc/passwd and /etc/group. */
export function resolveUser(user: string, group?: string): { uid: number; gid: number } {
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  const entry = passwd
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === user || fields[2] === user);
  if (!entry) {
    throw new LbctlError('VRRP_UNKNOWN_USER', `Cannot run script as "${user}": no such user`);
  }
  const uid = Number(entry[2]);
  let gid = Number(entry[3]);
  if (group !== undefined) {
    const groups = readFileSync('/etc/group', 'utf8').split('\n');
    const g = groups.map((line) => line.split(':')).find((f) => f[0] === group || f[2] === group);
    if (!g) {
      throw new LbctlError(
        'VRRP_UNKNOWN_GROUP',
        `Cannot run script as group "${group}": no such group`,
      );
    }
    gid = Number(g[2]);
  }
  return { uid, gid };
}
