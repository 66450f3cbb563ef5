import { spawn } from 'node:child_process';
import { nsenterArgs } from '../../src/netns/exec.js';

export interface BoundedRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr as they arrived, for messages. */
  readonly output: string;
}

export interface BoundedRunOptions {
  /** Killed (SIGKILL) after this long: a test never waits on a hang. */
  readonly timeoutMs: number;
  /** Run inside this network namespace (through nsenter). */
  readonly namespace?: string;
  /** Leave stdin an open pipe instead of /dev/null. */
  readonly openStdin?: boolean;
}

/** Runs a program to its end, or kills it at the timeout, and collects its output. */
export function runBounded(
  file: string,
  args: readonly string[],
  options: BoundedRunOptions,
): Promise<BoundedRun> {
  const [program, argv] =
    options.namespace === undefined
      ? [file, [...args]]
      : ['nsenter', [...nsenterArgs(options.namespace), file, ...args]];
  const child = spawn(program, argv, {
    stdio: [options.openStdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
    output += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
    output += d;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin?.destroy();
      resolve({ code, signal, stdout, stderr, output });
    });
  });
}
