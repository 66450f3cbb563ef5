import type { IcmpEchoer } from './icmp-echoer.js';
import type { Checker, CheckResult } from './types.js';

export interface PingCheckOptions {
  readonly connectIp: string;
  readonly bindTo?: string;
  readonly connectTimeoutMs: number;
}

// keepalived sends a small fixed payload; the content does not matter to the target.
const PAYLOAD = Buffer.from('lbctl-ping-check');

/** PING_CHECK: up when an ICMP echo reply comes back within connect_timeout. */
export class PingChecker implements Checker {
  readonly kind = 'PING_CHECK';
  readonly target: string;
  readonly timeoutMs: number;

  constructor(
    private readonly options: PingCheckOptions,
    private readonly echoer: IcmpEchoer,
  ) {
    this.target = options.connectIp;
    this.timeoutMs = options.connectTimeoutMs;
  }

  async check(signal: AbortSignal): Promise<CheckResult> {
    await this.echoer.echo({
      address: this.options.connectIp,
      payload: PAYLOAD,
      signal,
      ...(this.options.bindTo !== undefined ? { bindTo: this.options.bindTo } : {}),
    });
    return { ok: true };
  }
}
