/** What one run of a checker concluded. */
export interface CheckResult {
  readonly ok: boolean;
  /** Why it failed, for people: "connection refused", "status 503". */
  readonly reason?: string;
  /**
   * A dynamic weight the target asked for (MISC_CHECK with misc_dynamic).
   * Absent means "leave the weight as it was".
   */
  readonly weight?: number;
}

/**
 * One health check against one target. `check` must settle promptly once
 * `signal` aborts and release everything it opened (sockets, processes); the
 * caller owns the deadline (see runCheck).
 */
export interface Checker {
  /** The keepalived keyword, e.g. "TCP_CHECK". */
  readonly kind: string;
  /** Where it points, for logs: "127.0.0.1:80", "/usr/local/bin/probe". */
  readonly target: string;
  /** How long one run may take before it counts as failed. */
  readonly timeoutMs: number;
  check(signal: AbortSignal): Promise<CheckResult>;
}

/** Where a network checker connects from and to. */
export interface ConnectOptions {
  /** connect_ip: defaults to the real server's address. */
  readonly connectIp: string;
  /** connect_port: defaults to the real server's port. */
  readonly connectPort: number;
  /** bindto: source address. */
  readonly bindTo?: string;
  /** bind_port: source port. */
  readonly bindPort?: number;
  /** connect_timeout in milliseconds (keepalived default: 5 s). */
  readonly connectTimeoutMs: number;
}
