import { type Clock, systemClock } from '../time/clock.js';
import { failureReason } from './failure-reason.js';
import type { Checker, CheckResult } from './types.js';

export interface RunCheckOptions {
  readonly clock?: Clock;
  /** Aborts the run early (the scheduler stopping); the result is then "cancelled". */
  readonly signal?: AbortSignal;
}

/** A check under way: its result (never rejects), and how to cut it short. */
export interface StartedCheck {
  readonly result: Promise<CheckResult>;
  /** Aborts the check; its result is then "cancelled" (no-op once it has a result). */
  cancel(reason?: unknown): void;
}

/**
 * Starts one check under its deadline. The deadline is enforced here rather
 * than trusted to each checker, so a checker that ignores its signal still
 * cannot hold a concurrency slot past `timeoutMs`. No listener on a shared
 * signal: the scheduler keeps thousands of checks in flight, and an
 * EventTarget's listener list is walked at every add.
 */
export function startCheck(checker: Checker, clock: Clock = systemClock): StartedCheck {
  const controller = new AbortController();
  let finish: (result: CheckResult) => void = () => undefined;
  const result = new Promise<CheckResult>((resolve) => {
    let settled = false;
    finish = (outcome: CheckResult): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      resolve(outcome);
    };
    const timer = clock.setTimer(checker.timeoutMs, () => {
      const reason = `timeout after ${checker.timeoutMs} ms`;
      controller.abort(new Error(reason));
      finish({ ok: false, reason });
    });
    let pending: Promise<CheckResult>;
    try {
      pending = checker.check(controller.signal);
    } catch (err) {
      finish({ ok: false, reason: failureReason(err) });
      return;
    }
    pending.then(finish, (err: unknown) => finish({ ok: false, reason: failureReason(err) }));
  });
  return {
    result,
    cancel: (reason?: unknown): void => {
      controller.abort(reason);
      finish({ ok: false, reason: 'cancelled' });
    },
  };
}

/** Runs one check under its deadline (see startCheck), cancelled when `signal` aborts. Never rejects. */
export function runCheck(checker: Checker, options: RunCheckOptions = {}): Promise<CheckResult> {
  const parent = options.signal;
  if (parent?.aborted) {
    return Promise.resolve({ ok: false, reason: 'cancelled' });
  }
  const run = startCheck(checker, options.clock);
  if (parent === undefined) return run.result;
  const onParentAbort = (): void => run.cancel(parent.reason);
  parent.addEventListener('abort', onParentAbort, { once: true });
  return run.result.finally(() => parent.removeEventListener('abort', onParentAbort));
}
