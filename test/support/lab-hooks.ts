import { rmSync } from 'node:fs';
import { after, before } from 'node:test';
import type { Lab } from '../../src/lab/lab.js';

/**
 * Builds `lab` before the suite's tests (after `prepare`) and removes it and
 * the scratch directory after them, even when a test failed.
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
  after(async () => {
    try {
      await lab.down();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}
