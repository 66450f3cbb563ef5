import { type CommandLine, parseCommandLine } from './command-line.js';
import { runProgram } from './run-program.js';
import { type Credentials, type RunAs, resolveCredentials } from './system-user.js';
import type { Checker, CheckResult } from './types.js';

export interface MiscCheckOptions {
  /** misc_path: the program or script line. */
  readonly path: string;
  /** misc_timeout in milliseconds (keepalived default: the delay_loop). */
  readonly timeoutMs: number;
  /** misc_dynamic: exit codes 2..255 mean "up with weight code - 2". */
  readonly dynamic?: boolean;
  /** user USERNAME [GROUPNAME]. */
  readonly user?: RunAs;
}

/**
 * MISC_CHECK: runs a program; exit 0 is up, 1 is down; with misc_dynamic,
 * 2..255 is up and sets the weight to code - 2. Without misc_dynamic any
 * non-zero exit is down. A program still running at misc_timeout has its
 * whole process group terminated and counts as down.
 */
export class MiscChecker implements Checker {
  readonly kind = 'MISC_CHECK';
  readonly target: string;
  readonly timeoutMs: number;
  private readonly command: CommandLine;
  private credentials: Promise<Credentials> | undefined;

  constructor(private readonly options: MiscCheckOptions) {
    this.command = parseCommandLine(options.path);
    this.target = options.path;
    this.timeoutMs = options.timeoutMs;
  }

  async check(signal: AbortSignal): Promise<CheckResult> {
    const user = this.options.user;
    let credentials: Credentials | undefined;
    if (user !== undefined) {
      this.credentials ??= resolveCredentials(user);
      credentials = await this.credentials;
    }
    let exit: Awaited<ReturnType<typeof runProgram>>;
    try {
      exit = await runProgram(this.command, {
        signal,
        ...(credentials !== undefined ? { credentials } : {}),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return { ok: false, reason: `cannot run ${this.command.file}: not found` };
      }
      if ((err as NodeJS.ErrnoException).code === 'EACCES') {
        return { ok: false, reason: `cannot run ${this.command.file}: permission denied` };
      }
      throw err;
    }
    if (exit.code === null) return { ok: false, reason: `killed by ${exit.signal ?? 'a signal'}` };
    if (exit.code === 0) return { ok: true };
    if (this.options.dynamic === true && exit.code >= 2) {
      return { ok: true, weight: exit.code - 2 };
    }
    return { ok: false, reason: `exit status ${exit.code}` };
  }
}
