import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { LbctlError } from '../errors.js';
import { defaultRunDir } from '../paths.js';
import { isLbctlUp, processArgv, processStartTimeMs } from './process-identity.js';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Clock ticks and file times differ in resolution; this much is still "before". */
const START_SLACK_MS = 2000;

/**
 * Whether the pid file at `path` names a running `lbctl up` that wrote it: the
 * process exists, is `lbctl up`, and started before the file was written. A
 * pid reused after a crash (by any other program, or by a later process)
 * does not hold the instance.
 */
function heldByLiveOwner(path: string, owner: number): boolean {
  if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid) return false;
  if (!processAlive(owner)) return false;
  const argv = processArgv(owner);
  if (argv !== undefined && !isLbctlUp(argv)) return false;
  const started = processStartTimeMs(owner);
  const written = statSync(path).mtimeMs;
  return started === undefined || started <= written + START_SLACK_MS;
}

/**
 * One lbctl per instance name: a pid file created exclusively. A file left by
 * a process that no longer runs lbctl (a crash, the pid reused since) is
 * taken over.
 */
export class InstanceLock {
  private constructor(readonly path: string) {}

  static acquire(instance: string, runDir = defaultRunDir): InstanceLock {
    mkdirSync(runDir, { recursive: true });
    const path = join(runDir, `${instance}.pid`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o644);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new InstanceLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
        if (heldByLiveOwner(path, owner)) {
          throw new LbctlError(
            'INSTANCE_RUNNING',
            `Cannot start instance '${instance}': lbctl (pid ${owner}) already runs it (${path})`,
          );
        }
        unlinkSync(path); // stale: its owner is gone or is not lbctl
      }
    }
    throw new LbctlError('INSTANCE_LOCK', `Cannot lock instance '${instance}' at ${path}`);
  }

  release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
