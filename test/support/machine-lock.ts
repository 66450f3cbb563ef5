import { closeSync, constants, openSync } from 'node:fs';
import { native } from '../../src/native/addon.js';
import { waitFor } from './wait.js';

/**
 * Takes a lock shared by every test run on this machine, for tests that
 * change what is machine-wide (the installed Debian package, the dpkg
 * database): two worktrees running them at once would install and purge
 * under each other. A flock: the kernel drops it when this process ends,
 * however it ends. Returns the release.
 */
export async function holdMachineLock(name: string, timeoutMs: number): Promise<() => void> {
  const path = `/run/lock/lbctl-test-${name}.lock`;
  // libuv adds O_CLOEXEC: the programs the test starts do not inherit the lock.
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    await waitFor(
      `${path}, held by another run of this test on the machine`,
      () => native().tryLockExclusive(fd),
      { timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return () => closeSync(fd);
}
