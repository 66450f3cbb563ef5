import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LbctlError } from '../errors.js';

export const defaultRunDir = '/run/lbctl';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One lbctl per instance name: a pid file created exclusively. A file left by
 * a process that no longer exists (a crash) is taken over.
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
        if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
          throw new LbctlError(
            'INSTANCE_RUNNING',
            `Cannot start instance '${instance}': lbctl (pid ${owner}) already runs it (${path})`,
          );
        }
        unlinkSync(path); // stale: its owner is gone
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
