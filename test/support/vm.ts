import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { FILE_START, FILE_TIME } from './file-times-reporter.js';

/** Debian 12's kernel series that scripts/vm/kernel.sh knows. */
export const VM_KERNELS = ['6.1', '6.12'] as const;
export type VmKernel = (typeof VM_KERNELS)[number];

export interface VmRun {
  /** The command's exit status inside the VM (2 when the VM itself failed). */
  status: number | null;
  /** Serial console and run.sh messages, interleaved. */
  output: string;
  /** uname -r and boot time, from the VM's "up after" line. */
  release?: string;
  bootSeconds?: number;
  /** run.sh killed the VM at its timeout. */
  timedOut: boolean;
  /** CPU seconds QEMU used (user + system): the guest's work, whatever else shares the cores. */
  cpuSeconds?: number;
}

// Every VM of this process, killed with it: a test runner's timeout must not leave QEMU behind.
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
});

/** Runs `command` in this checkout inside a VM booted with Debian's `kernel` (scripts/vm/run.sh). */
export function runInVm(
  kernel: VmKernel,
  command: readonly string[],
  timeoutSeconds: number,
): Promise<VmRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'bash',
      [
        join(packageRoot, 'scripts/vm/run.sh'),
        '--kernel',
        kernel,
        '--timeout',
        String(timeoutSeconds),
        '--cwd',
        packageRoot,
        '--',
        ...command,
      ],
      // Its own process group, so QEMU and its timeout die with it.
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    if (child.pid !== undefined) running.add(child.pid);
    // Decoded once at the end: a chunk may end inside a multi-byte character.
    const chunks: Buffer[] = [];
    const keep = (chunk: Buffer) => chunks.push(chunk);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (status) => {
      if (child.pid !== undefined) running.delete(child.pid);
      const output = Buffer.concat(chunks).toString('utf8');
      const boot = /vm: (\S+) up after ([\d.]+) s/.exec(output);
      const cpu = /^vm: QEMU used (\d+)m([\d.]+)s user \+ (\d+)m([\d.]+)s system CPU$/m.exec(
        output,
      );
      resolve({
        status,
        output,
        timedOut: /^vm: the VM did not finish within \d+ s$/m.test(output),
        ...(cpu === null
          ? {}
          : {
              cpuSeconds:
                Number(cpu[1]) * 60 + Number(cpu[2]) + Number(cpu[3]) * 60 + Number(cpu[4]),
            }),
        ...(boot?.[1] !== undefined ? { release: boot[1], bootSeconds: Number(boot[2]) } : {}),
      });
    });
  });
}

/** node:test's summary line "ℹ pass N" (or "# pass N" in TAP) in a VM's output. */
export function summaryCount(output: string, what: string): number | undefined {
  const match = new RegExp(`^(?:ℹ|#) ${what} (\\d+)$`, 'm').exec(output);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * What file-times-reporter.ts printed in a VM: when each file started
 * (seconds into the run) and, once the run ended, the table of file times
 * and the files with a failed test.
 */
export function fileTimes(output: string): {
  started: { file: string; at: number }[];
  table: string[];
  failed: string[];
} {
  const lines = output.split(/\r?\n/);
  const started = lines.flatMap((line) => {
    const m = new RegExp(`^${FILE_START} (\\S+) at ([\\d.]+) s$`).exec(line);
    return m === null ? [] : [{ file: m[1] as string, at: Number(m[2]) }];
  });
  const table = lines.filter(
    (line) => line.startsWith(FILE_TIME) && /^ +[\d.]+ s /.test(line.slice(FILE_TIME.length)),
  );
  const failed = table.flatMap((line) => {
    const m = / s (\S+) \(failed\)$/.exec(line);
    return m === null ? [] : [m[1] as string];
  });
  return { started, table, failed };
}
