import { type Clock, systemClock } from '../time/clock.js';
import { failureReason } from './failure-reason.js';
import type { Checker, CheckResult } from './types.js';

export interface RunCheckOptions {
  readonly clock?: Clock;
  /** Aborts the run early (the scheduler stopping); the result is then "cancelled". */
  readonly signal?: AbortSignal;
}

/**
 * Runs one check under its deadline. The deadline is enforced here rather
 * than trusted to each checker, so a checker that ignores its signal still
 * cannot hold a concurrency slot past `timeoutMs`. Never rejects.
 */
export function runCheck(checker: Checker, options: RunCheckOptions = {}): Promise<CheckResult> {
  const clock = options.clock ?? systemClock;
  const parent = options.signal;
  const controller = new AbortController();

  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    const finish = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      parent?.removeEventListener('abort', onParentAbort);
      resolve(result);
    };
    const timer = clock.setTimer(checker.timeoutMs, () => {
      const reason = `timeout after ${checker.timeoutMs} ms`;
      controller.abort(new Error(reason));
      finish({ ok: false, reason });
    });
    const onParentAbort = (): void => {
      controller.abort(parent?.reason);
      finish({ ok: false, reason: 'cancelled' });
    };
    if (parent?.aborted) {
      onParentAbort();
      return;
    }
    parent?.addEventListener('abort', onParentAbort, { once: true });

    let pending: Promise<CheckResult>;
    try {
      pending = checker.check(controller.signal);
    } catch (err) {
      finish({ ok: false, reason: failureReason(err) });
      return;
    }
    pending.then(finish, (err: unknown) => finish({ ok: false, reason: failureReason(err) }));
  });
}
