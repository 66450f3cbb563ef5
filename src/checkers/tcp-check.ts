import { formatEndpoint } from '../net/endpoint.js';
import { connectTcp } from './tcp-connect.js';
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
    const socket = await connectTcp(this.options, signal);
    socket.destroy();
    return { ok: true };
  }
}
