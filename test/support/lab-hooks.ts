import { rmSync } from 'node:fs';
import { before } from 'node:test';
import type { Lab } from '../../src/lab/lab.js';
import { teardown } from './teardown.js';

/**
 * Builds `lab` before the suite's tests (after `prepare`) and removes it and
 * the scratch directory after them, even when a test failed or the runner
 * ended the file (see teardown).
 */
export function labForSuite(
  lab: Lab,
  scratch: string,
  prepare: () => void = () => undefined,
): void {
  before(async () => {
    prepare();
    await lab.up();
  });
  teardown(async () => {
    try {
      await lab.down();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}
