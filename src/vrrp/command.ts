import { parseCommandLine } from '../checkers/command-line.js';
import { runProgram } from '../checkers/run-program.js';
import { resolveCredentials } from '../checkers/system-user.js';
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

/**
 * argv for `command` plus `extraArgs`, split with keepalived's quoting rules
 * (parseCommandLine); never through a shell.
 */
export function commandArgv(command: string, extraArgs: readonly string[] = []): string[] {
  if (command.trim() === '') {
    throw new LbctlError('VRRP_EMPTY_COMMAND', 'Cannot run command: the command string is empty');
  }
  const { file, args } = parseCommandLine(command);
  return [file, ...args, ...extraArgs];
}

/**
 * Runs a command in its own process group without blocking the event loop
 * (runProgram, shared with every other script lbctl runs). On timeout the
 * whole group is killed, so children the command started do not outlive it.
 */
export async function runCommand(
  spec: CommandSpec,
  options: { clock: Clock; timeoutMs: number; extraArgs?: readonly string[] },
): Promise<CommandResult> {
  const [file, ...args] = commandArgv(spec.command, options.extraArgs) as [string, ...string[]];
  // Through NSS (getent), as for every other script lbctl runs.
  const credentials =
    spec.user === undefined
      ? undefined
      : await resolveCredentials({
          user: spec.user,
          ...(spec.group !== undefined && { group: spec.group }),
        });
  const timeout = new AbortController();
  const timer = options.clock.setTimer(options.timeoutMs, () => timeout.abort());
  try {
    const exit = await runProgram(
      { file, args },
      {
        signal: timeout.signal,
        killGraceMs: 0,
        ...(credentials !== undefined ? { credentials } : {}),
      },
    );
    return { exitCode: exit.code, signal: exit.signal, timedOut: false };
  } catch {
    if (timeout.signal.aborted) return { exitCode: null, signal: 'SIGKILL', timedOut: true };
    // Could not start it (missing, not executable): a shell would say 127.
    return { exitCode: 127, signal: null, timedOut: false };
  } finally {
    timer.cancel();
  }
}
