import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux ABI. */
const USER_HZ = 100;

/** When the process started (ms since the epoch), from /proc; undefined if it is gone. */
export function processStartTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1];
    if (!Number.isFinite(ticks) || btime === undefined) return undefined;
    return Number(btime) * 1000 + (ticks * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** argv of a process, from /proc; undefined if it is gone or unreadable. */
export function processArgv(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((arg) => arg !== '');
  } catch {
    return undefined;
  }
}

/** Whether argv is `lbctl up ...` (bin/lbctl, an installed lbctl, or the CLI's main.js under node). */
export function isLbctlUp(argv: readonly string[]): boolean {
  const program = argv.findIndex(
    (arg) => basename(arg) === 'lbctl' || /\/cli\/main\.js$/.test(arg),
  );
  return program >= 0 && argv[program + 1] === 'up';
}
