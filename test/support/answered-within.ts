/**
 * curl's --max-time (seconds) for a lab request that should be answered.
 * `Lab.requests` defaults to 1 s, right for polls and for requests allowed
 * to fail, but a loaded machine can take longer to answer one that must
 * pass; a request the data plane drops still fails, only later.
 */
export const ANSWERED_WITHIN_S = 5;
