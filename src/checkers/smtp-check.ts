import type { Socket } from 'node:net';
import { connectTcp, formatEndpoint } from './tcp-connect.js';
import type { Checker, CheckResult, ConnectOptions } from './types.js';

export interface SmtpCheckOptions extends ConnectOptions {
  /** helo_name; keepalived's default is "smtpchecker.keepalived.org". */
  readonly heloName?: string;
}

export const DEFAULT_HELO_NAME = 'smtpchecker.keepalived.org';
// SMTP limits a reply line to 512 bytes; allow a few continuation lines.
const MAX_REPLY_BYTES = 4096;

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
    const replies = new ReplyReader(socket, signal);
    try {
      const banner = await replies.next();
      if (banner !== 220) return { ok: false, reason: `banner code ${banner}, expected 220` };
      socket.write(`HELO ${this.options.heloName ?? DEFAULT_HELO_NAME}\r\n`);
      const helo = await replies.next();
      if (helo !== 250) return { ok: false, reason: `HELO answered ${helo}, expected 250` };
      socket.write('QUIT\r\n');
      return { ok: true };
    } finally {
      socket.destroy();
    }
  }
}

/** Reads complete SMTP replies (including multi-line ones) and yields their codes. */
class ReplyReader {
  private buffer = '';
  private waiter: { resolve: (code: number) => void; reject: (err: unknown) => void } | undefined;
  private failure: unknown;
  private readonly codes: number[] = [];

  constructor(socket: Socket, signal: AbortSignal) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by server')));
    signal.addEventListener('abort', () => this.fail(signal.reason), { once: true });
  }

  next(): Promise<number> {
    const code = this.codes.shift();
    if (code !== undefined) return Promise.resolve(code);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf('\n');
      if (end < 0) break;
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      // "250-..." continues a reply; "250 ..." or a bare "250" ends it.
      const match = /^(\d{3})(?: |$)/.exec(line);
      if (match !== null) this.deliver(Number(match[1]));
    }
    if (this.buffer.length > MAX_REPLY_BYTES) this.fail(new Error('reply line too long'));
  }

  private deliver(code: number): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter !== undefined) waiter.resolve(code);
    else this.codes.push(code);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}
