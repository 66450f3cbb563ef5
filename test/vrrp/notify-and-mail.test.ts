import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasCode } from '../../src/errors.js';
import { sendMail } from '../../src/vrrp/smtp.js';
import { instanceOptions, TestCluster } from './support/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'lbctl-vrrp-notify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A script appending its arguments, one line per call, to `log`. */
function recorder(name: string): { path: string; log: string; lines: () => string[] } {
  const path = join(dir, `${name}.sh`);
  const log = join(dir, `${name}.log`);
  writeFileSync(path, `#!/bin/sh\necho "$*" >> ${log}\n`);
  chmodSync(path, 0o755);
  return {
    path,
    log,
    lines: () => {
      try {
        return readFileSync(log, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
}

describe('notify scripts', () => {
  it('run with configured arguments, the generic one with keepalived appended arguments', async () => {
    const specific = recorder('specific');
    const generic = recorder('generic');
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [
      instanceOptions({
        priority: 100,
        notify: {
          master: { command: `${specific.path} notify_master` },
          backup: { command: `${specific.path} notify_backup` },
          stop: { command: `${specific.path} notify_stop` },
          generic: { command: `${generic.path} notify` },
        },
      }),
    ]);
    // Settle between changes: the scripts run concurrently and would race on the log.
    a.engine.start();
    await a.engine.notifier.settle();
    c.clock.advance(4000);
    await a.engine.notifier.settle();
    await a.engine.stop();
    assert.deepEqual(specific.lines(), ['notify_backup', 'notify_master', 'notify_stop']);
    assert.deepEqual(generic.lines(), [
      'notify INSTANCE VI_1 BACKUP 100',
      'notify INSTANCE VI_1 MASTER 100',
      'notify INSTANCE VI_1 STOP 100',
    ]);
  });

  it('never run through a shell: words split with keepalived quoting, shell syntax passed as is', async () => {
    const path = join(dir, 'argv.sh');
    const log = join(dir, 'argv.log');
    writeFileSync(path, `#!/bin/sh\nprintf '[%s]' "$@" >> ${log}\necho >> ${log}\n`);
    chmodSync(path, 0o755);
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [
      instanceOptions({
        priority: 255,
        notify: {
          generic: { command: `${path} "quoted arg" '$HOME;' a\\tb |x $(id)` },
        },
      }),
    ]);
    a.engine.start();
    await a.engine.notifier.settle();
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      '[quoted arg][$HOME;][a\tb][|x][$(id)][INSTANCE][VI_1][MASTER][255]',
    ]);
    await a.engine.stop();
  });

  it('a failing or missing script is logged, never fatal', async () => {
    const c = new TestCluster();
    const a = c.add('a', '10.0.0.1', [
      instanceOptions({
        priority: 255,
        notify: { master: { command: '/nonexistent/notify' }, generic: { command: 'false' } },
      }),
    ]);
    a.engine.start();
    await a.engine.notifier.settle();
    assert.equal(c.state('a'), 'MASTER');
    await a.engine.stop();
  });
});

interface SmtpSession {
  commands: string[];
  data: string;
}

/** A tiny SMTP server on 127.0.0.1 recording sessions; `rcptCode` lets a test refuse recipients. */
async function smtpServer(options: { rcptCode?: number; silent?: boolean } = {}) {
  const sessions: SmtpSession[] = [];
  const server: Server = createServer((socket) => {
    const session: SmtpSession = { commands: [], data: '' };
    sessions.push(session);
    if (options.silent) return;
    let inData = false;
    let buffer = '';
    socket.write('220 test ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (;;) {
        const end = buffer.indexOf('\r\n');
        if (end < 0) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write('250 queued\r\n');
          } else {
            session.data += `${line}\n`;
          }
          continue;
        }
        session.commands.push(line);
        const verb = line.split(/[ :]/)[0]!.toUpperCase();
        if (verb === 'EHLO') socket.write('250-test\r\n250 8BITMIME\r\n');
        else if (verb === 'RCPT') socket.write(`${options.rcptCode ?? 250} rcpt\r\n`);
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    sessions,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('smtp_alert', () => {
  it('sends a mail with EHLO, MAIL FROM, RCPT TO, DATA and QUIT', async (t) => {
    const server = await smtpServer();
    t.after(server.close);
    await sendMail(
      {
        server: '127.0.0.1',
        port: server.port,
        heloName: 'lb1',
        from: 'lb@example.org',
        to: ['ops@example.org', 'b@example.org'],
        timeoutMs: 10_000,
      },
      { subject: 'hello', body: 'line one\n.leading dot' },
    );
    const session = server.sessions[0]!;
    assert.deepEqual(session.commands, [
      'EHLO lb1',
      'MAIL FROM:<lb@example.org>',
      'RCPT TO:<ops@example.org>',
      'RCPT TO:<b@example.org>',
      'DATA',
      'QUIT',
    ]);
    assert.match(session.data, /^Subject: hello$/m);
    assert.match(session.data, /^\.\.leading dot$/m);
  });

  it('fails with SMTP_FAILED when a recipient is refused', async (t) => {
    const server = await smtpServer({ rcptCode: 550 });
    t.after(server.close);
    await assert.rejects(
      sendMail(
        {
          server: '127.0.0.1',
          port: server.port,
          heloName: 'lb1',
          from: 'a@x',
          to: ['b@x'],
          timeoutMs: 10_000,
        },
        { subject: 's', body: 'b' },
      ),
      (err) =>
        hasCode(err, 'SMTP_FAILED') && /RCPT TO b@x answered 550/.test((err as Error).message),
    );
  });

  it('gives up after the timeout when the server stays silent', async (t) => {
    const server = await smtpServer({ silent: true });
    t.after(server.close);
    await assert.rejects(
      sendMail(
        {
          server: '127.0.0.1',
          port: server.port,
          heloName: 'lb1',
          from: 'a@x',
          to: ['b@x'],
          timeoutMs: 200,
        },
        { subject: 's', body: 'b' },
      ),
      /no reply within 200 ms/,
    );
  });

  it('mails on state changes when the instance has smtp_alert', async (t) => {
    const server = await smtpServer();
    t.after(server.close);
    const c = new TestCluster();
    const a = c.add(
      'a',
      '10.0.0.1',
      [instanceOptions({ priority: 255, notify: { smtpAlert: true } })],
      {
        smtp: {
          server: '127.0.0.1',
          port: server.port,
          heloName: 'lb1',
          from: 'lb@x',
          to: ['ops@x'],
          timeoutMs: 10_000,
        },
        routerId: 'lb1',
      },
    );
    a.engine.start();
    await a.engine.notifier.settle();
    assert.equal(server.sessions.length, 1);
    assert.match(
      server.sessions[0]!.data,
      /^Subject: \[lb1\] VRRP Instance VI_1 - Entering MASTER state$/m,
    );
    await a.engine.stop();
  });
});
