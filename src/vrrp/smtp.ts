import { connect } from 'node:net';
import { LbctlError } from '../errors.js';
import { SmtpReplyReader } from '../net/smtp-replies.js';

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
  const replies = new SmtpReplyReader(socket, { timeoutMs });
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
