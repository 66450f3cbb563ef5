import { constants } from 'node:os';
import { after } from 'node:test';

/**
 * Cleanup of what a test file builds outside itself: namespaces, pins,
 * processes in them. node:test's `after` alone is not enough: `node --test`
 * ends a file that outlives `--test-timeout` (the whole file's bound in
 * Node 20), or is interrupted, with SIGTERM, and a process ended that way
 * runs no hooks, leaving namespaces and pins on a machine others test on.
 * A cleanup registered here runs once: after the suite (or the test, given
 * its context), or when one of those signals arrives, before the process
 * exits.
 */
export function teardown(cleanup: () => unknown, scope?: { after(fn: () => unknown): void }): void {
  let running: Promise<void> | undefined;
  const once = (): Promise<void> => {
    running ??= Promise.resolve().then(async () => {
      await cleanup();
    });
    return running;
  };
  pending.push(once);
  handleSignals();
  const hook = async () => {
    try {
      await once();
    } finally {
      pending.splice(pending.indexOf(once), 1);
    }
  };
  if (scope === undefined) after(hook);
  else scope.after(hook);
}

/** Cleanups not run yet, in registration order. */
const pending: (() => Promise<void>)[] = [];
/** A cleanup stuck on a wedged namespace must not keep a killed file alive for ever. */
const SIGNAL_CLEANUP_BOUND_MS = 60_000;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
let handling = false;

function handleSignals(): void {
  if (handling) return;
  handling = true;
  let cleaning = false;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      const code = 128 + constants.signals[signal];
      // A second signal while cleaning: the sender insists.
      if (cleaning) process.exit(code);
      cleaning = true;
      process.stderr.write(`${signal}: removing what this test file built before exiting\n`);
      setTimeout(() => process.exit(code), SIGNAL_CLEANUP_BOUND_MS);
      void runPending().finally(() => process.exit(code));
    });
  }
}

/** Last built, first removed; one failing cleanup does not stop the others. */
async function runPending(): Promise<void> {
  for (const once of [...pending].reverse()) {
    try {
      await once();
    } catch (err) {
      process.stderr.write(`cleanup failed: ${(err as Error).message}\n`);
    }
  }
}
