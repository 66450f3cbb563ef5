import type { CheckResult } from './types.js';

/** The timing options that decide when a check runs again and when it flips. */
export interface RetryPolicy {
  /** retry (alias nb_get_retry): extra attempts after a failure before declaring down. */
  readonly retry: number;
  /** delay_loop: time between regular checks. */
  readonly delayLoopMs: number;
  /** delay_before_retry: time between a failure and its retry. */
  readonly delayBeforeRetryMs: number;
}

/** What one checker currently believes about its target. */
export interface CheckState {
  readonly up: boolean;
  /** False until the first result; the first result always counts as a verdict. */
  readonly hasRun: boolean;
  /** Failed attempts so far in the current retry sequence. */
  readonly retryIt: number;
  /** Last dynamic weight reported (misc_dynamic), if any. */
  readonly weight?: number;
  /** Why the last verdict of "down" was reached. */
  readonly reason?: string;
}

export interface CheckStep {
  readonly state: CheckState;
  /** When to run next, counted from now. */
  readonly delayMs: number;
  /** Whether the next run is a retry (spaced by delay_before_retry) or a regular one. */
  readonly retrying: boolean;
  /** Whether `up` or the dynamic weight changed. */
  readonly changed: boolean;
}

/** alpha: start down, so a real must pass a check before it receives traffic. */
export function initialCheckState(alpha: boolean): CheckState {
  return { up: !alpha, hasRun: false, retryIt: 0 };
}

/**
 * keepalived's rule: a success is a verdict at once (up); a failure is retried
 * `retry` times, delay_before_retry apart, and only the last failure of the
 * sequence is a verdict (down). So an up check goes down after exactly
 * retry + 1 consecutive failed attempts, and a down check comes up on the
 * first success.
 */
export function advanceCheckState(
  state: CheckState,
  result: CheckResult,
  policy: RetryPolicy,
): CheckStep {
  if (!result.ok && state.retryIt < policy.retry) {
    return {
      state: { ...state, hasRun: true, retryIt: state.retryIt + 1 },
      delayMs: policy.delayBeforeRetryMs,
      retrying: true,
      changed: false,
    };
  }
  if (result.ok) {
    const weight = result.weight ?? state.weight;
    const next: CheckState = {
      up: true,
      hasRun: true,
      retryIt: 0,
      ...(weight !== undefined ? { weight } : {}),
    };
    return {
      state: next,
      delayMs: policy.delayLoopMs,
      retrying: false,
      changed: !state.up || weight !== state.weight,
    };
  }
  const next: CheckState = {
    up: false,
    hasRun: true,
    retryIt: 0,
    ...(state.weight !== undefined ? { weight: state.weight } : {}),
    ...(result.reason !== undefined ? { reason: result.reason } : {}),
  };
  return { state: next, delayMs: policy.delayLoopMs, retrying: false, changed: state.up };
}
