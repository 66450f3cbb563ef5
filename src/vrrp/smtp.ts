import { connect, type Socket } from 'node:net';
import { LbctlError } from '../errors.js';

/** Where and how smtp_alert mail is sent (keepalived global_defs). */
export interface SmtpSettings {
  readonly server: string;
  readonly port?: number;
  /** Name given in EHLO/HELO (keepalived: smtp_helo_name, default the router id). */
  readonly heloName: string;
  readonly from: string;
  readonly to: readonly string[];
  /** Per step: connect and each reply (keepalived smtp_connect_timeout, default 30 s). */
  readonly timeoutMs?: number;
}

export interface MailMessage {
  readonly subject: string;
  readonly body: string;
}

/**
 * Sends one mail with a minimal RFC 5321 dialogue: EHLO (HELO if refused),
 * MAIL FROM, RCPT TO per recipient, DATA, QUIT. No TLS, no AUTH, as keepalived.
 */
export async function sendMail(settings: SmtpSettings, message: MailMessage): Promise<void> {
  const timeoutMs = settings.timeoutMs ?? 30_000;
  const socket = connect({ host: settings.server, port: settings.port ?? 25 });
  const replies = new ReplyReader(socket, timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    await replies.expect(220, 'greeting');
    socket.write(`EHLO ${settings.heloName}\r\n`);
    const ehlo = await replies.next();
    if (ehlo.code !== 250) {
      socket.write(`HELO ${settings.heloName}\r\n`);
      await replies.expect(250, 'HELO');
    }
    socket.write(`MAIL FROM:<${settings.from}>\r\n`);
    await replies.expect(250, 'MAIL FROM');
    for (const recipient of settings.to) {
      socket.write(`RCPT TO:<${recipient}>\r\n`);
      await replies.expect([250, 251], `RCPT TO ${recipient}`);
    }
    socket.write('DATA\r\n');
    await replies.expect(354, 'DATA');
    socket.write(formatMessage(settings, message));
    await replies.expect(250, 'message body');
    socket.write('QUIT\r\n');
    await replies.expect(221, 'QUIT');
  } catch (err) {
    if (err instanceof LbctlError) throw err;
    throw new LbctlError(
      'SMTP_FAILED',
      `Cannot send mail via ${settings.server}: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    replies.close();
    socket.destroy();
  }
}

function formatMessage(settings: SmtpSettings, message: MailMessage): string {
  const headers = [
    `From: ${settings.from}`,
    `To: ${settings.to.join(', ')}`,
    `Subject: ${message.subject}`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  // Dot-stuffing (RFC 5321 section 4.5.2) so a line with a lone "." does not end the data.
  const body = message.body
    .split(/\r?\n/)
    .map((line) => (line.startsWith('.') ? `.${line}` : line))
    .join('\r\n');
  return `${headers.join('\r\n')}\r\n\r\n${body}\r\n.\r\n`;
}

interface Reply {
  readonly code: number;
  readonly text: string;
}

/** Collects multi-line SMTP replies ("250-..." continued, "250 ..." final). */
class ReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private readonly queue: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;

  constructor(socket: Socket, timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by server')));
  }

  next(): Promise<Reply> {
    const ready = this.queue.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.timer = setTimeout(
        () => this.fail(new Error(`no reply within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
  }

  async expect(codes: number | readonly number[], step: string): Promise<Reply> {
    const reply = await this.next();
    const wanted = typeof codes === 'number' ? [codes] : codes;
    if (!wanted.includes(reply.code)) {
      throw new Error(`${step} answered ${reply.code} ${reply.text}`);
    }
    return reply;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf('\n');
      if (end < 0) break;
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      this.lines.push(line);
      if (line.charAt(3) !== '-') {
        const code = Number(line.slice(0, 3));
        const text = this.lines.map((l) => l.slice(4)).join('\n');
        this.lines = [];
        this.deliver({ code, text });
      }
    }
  }

  private deliver(reply: Reply): void {
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      this.close();
      resolve(reply);
    } else {
      this.queue.push(reply);
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    if (this.waiter) {
      const { reject } = this.waiter;
      this.waiter = undefined;
      this.close();
      reject(err);
    }
  }
}
