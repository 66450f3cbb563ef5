import { PROGRAM_CHECK_CONCURRENCY } from '../src/checkers/check-concurrency.js';
import { CheckScheduler } from '../src/checkers/scheduler.js';
import type { Checker, CheckResult } from '../src/checkers/types.js';
import { systemClock } from '../src/time/clock.js';
import type { BenchResult } from './result.js';

const DARK = 1_000;
const HEALTHY = 2_000;
const DELAY_LOOP_MS = 1_200;
const CONNECT_TIMEOUT_MS = 1_000;
const RUN_MS = 6_000;

/** A target that never answers: the check ends at its timeout. */
const dark: Checker = {
  kind: 'TCP_CHECK',
  target: 'dark',
  timeoutMs: CONNECT_TIMEOUT_MS,
  check: (signal) =>
    new Promise<CheckResult>((_, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
    ),
};

/** Healthy checks run in RUN_MS, out of those due, with `concurrency` socket slots (undefined: the default). */
async function healthyShare(concurrency: number | undefined): Promise<number> {
  let ran = 0;
  const healthy: Checker = {
    kind: 'TCP_CHECK',
    target: 'healthy',
    timeoutMs: CONNECT_TIMEOUT_MS,
    check: async () => {
      ran++;
      return { ok: true };
    },
  };
  const scheduler = new CheckScheduler({
    clock: systemClock,
    ...(concurrency === undefined ? {} : { concurrency }),
  });
  const timing = {
    delayLoopMs: DELAY_LOOP_MS,
    retry: 0,
    delayBeforeRetryMs: DELAY_LOOP_MS,
    warmupMs: DELAY_LOOP_MS,
    alpha: false,
  };
  for (let i = 0; i < DARK; i++)
    scheduler.add({ id: `d${i}`, real: 'd', checker: dark, ...timing });
  for (let i = 0; i < HEALTHY; i++)
    scheduler.add({ id: `h${i}`, real: 'h', checker: healthy, ...timing });
  scheduler.start();
  await new Promise((resolve) => setTimeout(resolve, RUN_MS));
  await scheduler.stop();
  // First runs are spread over one delay_loop (warmup), then one per delay_loop:
  // RUN_MS / DELAY_LOOP_MS runs each (a whole number here).
  const due = HEALTHY * (RUN_MS / DELAY_LOOP_MS);
  return ran / due;
}

/**
 * healthcheck_dark_rack: 1,000 checks whose targets never answer (a rack
 * gone dark: each holds its slot until connect_timeout) beside 2,000 healthy
 * ones, all at delay_loop 1.2 s and connect_timeout 1 s, for 6 s: the share
 * of the healthy checks' due runs that ran, with the scheduler's default
 * socket-check slots and with 256 (the bound every check shared before).
 * The dark ones need ~830 slots at once.
 */
export async function healthcheckDarkRack(): Promise<BenchResult> {
  const sharedBound = await healthyShare(PROGRAM_CHECK_CONCURRENCY);
  const byDefault = await healthyShare(undefined);
  return {
    name: 'healthcheck_dark_rack',
    darkChecks: DARK,
    healthyChecks: HEALTHY,
    healthyRunShare: byDefault,
    healthyRunShareWith256Slots: sharedBound,
  };
}
