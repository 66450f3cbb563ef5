import type { CheckerType } from './options.js';

/** keepalived.conf(5) defaults. */
export const DEFAULT_DELAY_LOOP_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_RETRY = 1;

export function defaultRetry(type: CheckerType): number {
  if (type === 'DNS_CHECK') return 3;
  if (type === 'MISC_CHECK') return 0;
  return DEFAULT_RETRY;
}

export function defaultDelayBeforeRetryMs(type: CheckerType, delayLoopMs: number): number {
  if (type === 'DNS_CHECK') return delayLoopMs;
  if (type === 'HTTP_GET' || type === 'SSL_GET') return 3_000;
  return 1_000;
}
