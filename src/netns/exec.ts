import { type ChildProcess, execFile, type SpawnOptions, spawn } from 'node:child_process';
import { LbctlError } from '../errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell) and resolves with its output; rejects with its stderr. */
export function run(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.trim() || error.message;
          reject(
            new LbctlError('COMMAND_FAILED', `Cannot run ${file} ${args.join(' ')}: ${detail}`, {
              cause: error,
            }),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** The nsenter prefix that runs a command inside a named network namespace. */
export function nsenterArgs(namespace: string): string[] {
  // nsenter switches only the network namespace; `ip netns exec` would also
  // remount /sys and hide /sys/fs/bpf from the command.
  return [`--net=/var/run/netns/${namespace}`, '--'];
}

/** Runs a program inside a network namespace. */
export function runIn(
  namespace: string,
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  return run('nsenter', [...nsenterArgs(namespace), file, ...args], options);
}

/** Starts a long-running program inside a network namespace. */
export function spawnIn(
  namespace: string,
  file: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  return spawn('nsenter', [...nsenterArgs(namespace), file, ...args], options);
}
