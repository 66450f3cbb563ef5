import type { Socket } from 'node:net';

export interface SmtpReply {
  readonly code: number;
  /** The reply's text, lines of a multi-line reply joined by "\n". */
  readonly text: string;
}

export interface SmtpReplyReaderOptions {
  /** Fail a pending next() when no reply arrives within this time. */
  readonly timeoutMs?: number;
  /** Fail everything once this aborts. */
  readonly signal?: AbortSignal;
}

// SMTP limits a reply line to 512 bytes; allow a few continuation lines.
const MAX_PENDING_BYTES = 4096;

/**
 * Reads complete SMTP replies from a socket: "250-…" lines continue a reply,
 * "250 …" (or a bare "250") ends it (RFC 5321 section 4.2). Used by the mail
 * client (smtp_alert) and by SMTP_CHECK.
 */
export class SmtpReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private readonly queue: SmtpReply[] = [];
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: unknown) => void } | undefined;
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    private readonly options: SmtpReplyReaderOptions = {},
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by server')));
    const { signal } = options;
    signal?.addEventListener('abort', () => this.fail(signal.reason), { once: true });
  }

  next(): Promise<SmtpReply> {
    const ready = this.queue.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      const { timeoutMs } = this.options;
      if (timeoutMs !== undefined) {
        this.timer = setTimeout(
          () => this.fail(new Error(`no reply within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
    });
  }

  /** The next reply, which must carry one of `codes`; otherwise fails naming `step`. */
  async expect(codes: number | readonly number[], step: string): Promise<SmtpReply> {
    const reply = await this.next();
    const wanted = typeof codes === 'number' ? [codes] : codes;
    if (!wanted.includes(reply.code)) {
      throw new Error(`${step} answered ${reply.code} ${reply.text}`.trimEnd());
    }
    return reply;
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf('\n');
      if (end < 0) break;
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      if (!/^\d{3}(?:[ -]|$)/.test(line)) continue; // not a reply line
      this.lines.push(line);
      if (line.charAt(3) === '-') continue;
      const text = this.lines.map((l) => l.slice(4)).join('\n');
      this.lines = [];
      this.deliver({ code: Number(line.slice(0, 3)), text });
    }
    if (this.buffer.length > MAX_PENDING_BYTES) this.fail(new Error('reply line too long'));
  }

  private deliver(reply: SmtpReply): void {
    const waiter = this.waiter;
    if (waiter === undefined) {
      this.queue.push(reply);
      return;
    }
    this.waiter = undefined;
    this.close();
    waiter.resolve(reply);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    const waiter = this.waiter;
    this.waiter = undefined;
    this.close();
    waiter?.reject(this.failure);
  }
}
