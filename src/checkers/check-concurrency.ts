import { readFileSync } from 'node:fs';

/** Checks that run a program (MISC_CHECK) in flight at once: a process each. */
export const PROGRAM_CHECK_CONCURRENCY = 256;
/** At most this many socket checks in flight, however many descriptors the process may open. */
export const MAX_SOCKET_CHECK_CONCURRENCY = 16_384;
/** Descriptors kept for everything else (maps, links, netlink, the control socket, logs). */
const RESERVED_DESCRIPTORS = 512;

/**
 * Socket checks in flight at once for a process allowed `openFiles`
 * descriptors: half of what is left after the reserve, 256 to 16,384. A
 * check in flight holds one socket; a hung target holds it until its
 * connect_timeout. The bound must not be lower than needed: when every slot
 * is held by targets that never answer (a rack gone dark), the checks of
 * the healthy reals queue behind them and run late.
 */
export function socketCheckConcurrency(openFiles: number | undefined): number {
  if (openFiles === undefined || !Number.isFinite(openFiles)) return MAX_SOCKET_CHECK_CONCURRENCY;
  const half = Math.floor((openFiles - RESERVED_DESCRIPTORS) / 2);
  return Math.min(MAX_SOCKET_CHECK_CONCURRENCY, Math.max(PROGRAM_CHECK_CONCURRENCY, half));
}

/**
 * This process's soft RLIMIT_NOFILE from /proc/self/limits (Node raises it
 * to the hard limit at start); Infinity when unlimited, undefined when unreadable.
 */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === undefined) return undefined;
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(soft);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
