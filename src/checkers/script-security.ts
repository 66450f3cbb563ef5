import { accessSync, constants, realpathSync, type Stats, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import type { Credentials } from './system-user.js';

/** What checking one script's program found. */
export type ScriptSecurity =
  | { readonly kind: 'safe'; readonly program: string }
  | { readonly kind: 'not-found'; readonly program: string; readonly reason: string }
  | {
      readonly kind: 'unsafe';
      readonly program: string;
      /** The file or directory that someone other than root can change. */
      readonly path: string;
      readonly reason: string;
    };

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/** keepalived's is_executable(): may `runAs` execute this file. */
function executableBy(stats: Stats, runAs: Credentials): boolean {
  if (runAs.uid === 0) return (stats.mode & 0o111) !== 0;
  if (runAs.uid === stats.uid) return (stats.mode & 0o100) !== 0;
  if (runAs.gid === stats.gid) return (stats.mode & 0o010) !== 0;
  return (stats.mode & 0o001) !== 0;
}

/**
 * Why a file or directory is writable by someone other than root (keepalived's
 * rule): it is not owned by root, or its group (when not root's) or everyone
 * may write it. A root-owned sticky directory (/tmp) is allowed, since only
 * an entry's owner may replace it there.
 */
function writableByNonRoot(stats: Stats): string | undefined {
  if (stats.uid !== 0) return `owned by uid ${stats.uid}, not root`;
  if (stats.isDirectory() && (stats.mode & S_ISVTX) !== 0) return undefined;
  if ((stats.mode & 0o002) !== 0) return 'writable by everyone';
  if (stats.gid !== 0 && (stats.mode & 0o020) !== 0) return `writable by group ${stats.gid}`;
  return undefined;
}

/** `/`, `/usr`, `/usr/bin`, `/usr/bin/x` for `/usr/bin/x`. */
function prefixes(path: string): string[] {
  const out = ['/'];
  let current = '';
  for (const part of path.split('/')) {
    if (part === '') continue;
    current += `/${part}`;
    out.push(current);
  }
  return out;
}

/** A bare program name found on PATH the way execvp would, as keepalived's find_path does. */
function searchPath(name: string): string | undefined {
  const path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir === '' ? '.' : dir, name);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // Not here: try the next directory.
    }
  }
  return undefined;
}

/**
 * keepalived's check_script_secure(): a script that runs with root's rights
 * (as uid 0 or gid 0, or set-uid/set-gid root) is unsafe when its file or
 * any directory on the way to it is writable by someone other than root,
 * since that someone could then run anything as root. Both the path as
 * written and, for symbolic links, the file's real path are walked.
 * Synchronous: used once at start-up, before the event loop has timers.
 */
export function checkScriptSecurity(program: string, runAs: Credentials): ScriptSecurity {
  const resolved = program.includes('/') ? program : searchPath(program);
  if (resolved === undefined) {
    return { kind: 'not-found', program, reason: 'not found on PATH' };
  }
  let stats: Stats;
  let real: string;
  try {
    stats = statSync(resolved);
    real = realpathSync(resolved);
  } catch (err) {
    return { kind: 'not-found', program, reason: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
  const withRootRights =
    runAs.uid === 0 ||
    runAs.gid === 0 ||
    (stats.uid === 0 && (stats.mode & S_ISUID) !== 0 && (stats.mode & 0o100) !== 0) ||
    (stats.gid === 0 && (stats.mode & S_ISGID) !== 0 && (stats.mode & 0o010) !== 0);
  if (!executableBy(stats, runAs) || !withRootRights) return { kind: 'safe', program: resolved };
  const absolute = resolved.startsWith('/') ? resolved : join(process.cwd(), resolved);
  const paths = new Set([...prefixes(absolute), ...prefixes(dirname(real)), real]);
  for (const path of paths) {
    let component: Stats;
    try {
      component = statSync(path);
    } catch (err) {
      return { kind: 'not-found', program, reason: (err as NodeJS.ErrnoException).code ?? 'error' };
    }
    const reason = writableByNonRoot(component);
    if (reason !== undefined) return { kind: 'unsafe', program: resolved, path, reason };
  }
  return { kind: 'safe', program: resolved };
}
