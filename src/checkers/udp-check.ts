import { randomBytes } from 'node:crypto';
import { formatEndpoint } from '../net/endpoint.js';
import { CheckerConfigError } from './checker-error.js';
import { type HexPattern, matchesPattern, parseHexPattern } from './hex-pattern.js';
import type { Checker, CheckResult, ConnectOptions } from './types.js';
import { udpExchange } from './udp-exchange.js';

export interface UdpCheckOptions extends ConnectOptions {
  /** payload HEX_STR; random bytes when absent. */
  readonly payload?: string;
  /**
   * require_reply: `true` (any reply) or a HEX_STR the reply must match over
   * the shorter of the two lengths (X nibbles ignored). Absent: no reply needed.
   */
  readonly requireReply?: true | string;
  /** min_reply_length, default 0. */
  readonly minReplyLength?: number;
  /** max_reply_length, default 255. */
  readonly maxReplyLength?: number;
}

const RANDOM_PAYLOAD_BYTES = 16;
// Headroom past connect_timeout for the hard deadline, so the quiet period decides first.
const QUIET_MARGIN_MS = 500;

/**
 * UDP_CHECK with keepalived's semantics: a datagram goes to the target; an
 * ICMP port unreachable means down. Without require_reply, silence for
 * connect_timeout means up. With require_reply, a reply must arrive within
 * connect_timeout, have a length within [min, max] and match the pattern.
 */
export class UdpChecker implements Checker {
  readonly kind = 'UDP_CHECK';
  readonly target: string;
  readonly timeoutMs: number;
  private readonly payload: Buffer | undefined;
  private readonly expected: HexPattern | undefined;
  private readonly minLength: number;
  private readonly maxLength: number;

  constructor(private readonly options: UdpCheckOptions) {
    this.payload =
      options.payload === undefined ? undefined : parseHexPattern(options.payload, false).bytes;
    this.expected =
      typeof options.requireReply === 'string'
        ? parseHexPattern(options.requireReply, true)
        : undefined;
    this.minLength = options.minReplyLength ?? 0;
    this.maxLength = options.maxReplyLength ?? 255;
    if (this.minLength > this.maxLength) {
      throw new CheckerConfigError(
        `Cannot build UDP_CHECK: min_reply_length ${this.minLength} exceeds max_reply_length ${this.maxLength}`,
      );
    }
    this.target = formatEndpoint(options.connectIp, options.connectPort);
    this.timeoutMs =
      options.requireReply === undefined
        ? options.connectTimeoutMs + QUIET_MARGIN_MS
        : options.connectTimeoutMs;
  }

  check(signal: AbortSignal): Promise<CheckResult> {
    const payload = this.payload ?? randomBytes(RANDOM_PAYLOAD_BYTES);
    if (this.options.requireReply === undefined) {
      return udpExchange<CheckResult>(
        this.options,
        payload,
        signal,
        () => ({ done: true, value: { ok: true } }),
        { ms: this.options.connectTimeoutMs, value: { ok: true } },
      );
    }
    return udpExchange<CheckResult>(this.options, payload, signal, (reply) => ({
      done: true,
      value: this.judge(reply),
    }));
  }

  private judge(reply: Buffer): CheckResult {
    if (reply.length < this.minLength || reply.length > this.maxLength) {
      return {
        ok: false,
        reason: `reply of ${reply.length} bytes outside ${this.minLength}..${this.maxLength}`,
      };
    }
    if (this.expected !== undefined && !matchesPattern(reply, this.expected)) {
      return { ok: false, reason: 'reply does not match require_reply' };
    }
    return { ok: true };
  }
}
