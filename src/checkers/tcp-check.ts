import { formatEndpoint } from '../net/endpoint.js';
import { probeTcp } from './tcp-probe.js';
import type { Checker, CheckResult, ConnectOptions } from './types.js';

/** TCP_CHECK: the real is up when a TCP connection completes. */
export class TcpChecker implements Checker {
  readonly kind = 'TCP_CHECK';
  readonly target: string;
  readonly timeoutMs: number;

  constructor(private readonly options: ConnectOptions) {
    this.target = formatEndpoint(options.connectIp, options.connectPort);
    this.timeoutMs = options.connectTimeoutMs;
  }

  async check(signal: AbortSignal): Promise<CheckResult> {
    await probeTcp(this.options, signal);
    return { ok: true };
  }
}
