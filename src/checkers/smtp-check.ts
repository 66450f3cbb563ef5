import { formatEndpoint } from '../net/endpoint.js';
import { SmtpReplyReader } from '../net/smtp-replies.js';
import { connectTcp } from './tcp-connect.js';
import type { Checker, CheckResult, ConnectOptions } from './types.js';

export interface SmtpCheckOptions extends ConnectOptions {
  /** helo_name; keepalived's default is "smtpchecker.keepalived.org". */
  readonly heloName?: string;
}

export const DEFAULT_HELO_NAME = 'smtpchecker.keepalived.org';

/** SMTP_CHECK: up when the server greets with 220 and answers HELO with 250. */
export class SmtpChecker implements Checker {
  readonly kind = 'SMTP_CHECK';
  readonly target: string;
  readonly timeoutMs: number;

  constructor(private readonly options: SmtpCheckOptions) {
    this.target = formatEndpoint(options.connectIp, options.connectPort);
    this.timeoutMs = options.connectTimeoutMs;
  }

  async check(signal: AbortSignal): Promise<CheckResult> {
    const socket = await connectTcp(this.options, signal);
    const replies = new SmtpReplyReader(socket, { signal });
    try {
      const banner = (await replies.next()).code;
      if (banner !== 220) return { ok: false, reason: `banner code ${banner}, expected 220` };
      socket.write(`HELO ${this.options.heloName ?? DEFAULT_HELO_NAME}\r\n`);
      const helo = (await replies.next()).code;
      if (helo !== 250) return { ok: false, reason: `HELO answered ${helo}, expected 250` };
      socket.write('QUIT\r\n');
      return { ok: true };
    } finally {
      replies.close();
      socket.destroy();
    }
  }
}
