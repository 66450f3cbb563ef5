import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SystemdNotifier } from '../../src/daemon/systemd-notify.js';
import { silentLogger } from '../../src/log.js';
import { NativeError } from '../../src/native/native-error.js';
import { sendUnixDatagram } from '../../src/net/unix-datagram.js';
import { uniqueName } from '../../src/netns/netns.js';
import { NotifyReceiver } from './support/notify-receiver.js';

describe('sd_notify over an AF_UNIX datagram socket', () => {
  it('delivers datagrams to a path socket and to an abstract one', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lbctl-notify-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const path of [join(dir, 'notify.sock'), `@${uniqueName('lbctl-notify-')}`]) {
      const receiver = await NotifyReceiver.listen(path);
      try {
        assert.equal(sendUnixDatagram(path, Buffer.from('READY=1\nSTATUS=hello')), 20);
        await receiver.waitFor('READY=1');
        assert.deepEqual(receiver.messages, ['READY=1\nSTATUS=hello']);
      } finally {
        receiver.close();
      }
    }
  });

  it('fails with the errno when nobody listens, and refuses a path too long', () => {
    assert.throws(
      () => sendUnixDatagram('/nonexistent/notify.sock', Buffer.from('READY=1')),
      (err: unknown) =>
        err instanceof NativeError &&
        err.errno === 2 &&
        /^Cannot send unix datagram to \/nonexistent\/notify.sock: /.test(err.message),
    );
    assert.throws(
      () => sendUnixDatagram(`/${'x'.repeat(120)}`, Buffer.from('READY=1')),
      /the path must have 1 to 107 bytes/,
    );
  });

  it('SystemdNotifier sends READY, RELOADING with MONOTONIC_USEC, STOPPING; takes NOTIFY_SOCKET out of the environment', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lbctl-notify-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'notify.sock');
    const receiver = await NotifyReceiver.listen(path);
    try {
      const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: path };
      const notifier = SystemdNotifier.fromEnvironment(silentLogger(), env);
      assert.equal(env.NOTIFY_SOCKET, undefined);
      assert.ok(notifier.enabled);
      notifier.ready('running');
      const before = process.hrtime.bigint() / 1000n;
      notifier.reloading();
      const after = process.hrtime.bigint() / 1000n;
      notifier.stopping();
      await receiver.waitFor('STOPPING=1');
      const [ready, reloading, stopping] = receiver.messages;
      assert.equal(ready, `READY=1\nSTATUS=running\nMAINPID=${process.pid}`);
      const usec = /^RELOADING=1\nMONOTONIC_USEC=(\d+)\nSTATUS=reloading$/.exec(reloading ?? '');
      assert.ok(usec !== null, reloading);
      // CLOCK_MONOTONIC (libuv's hrtime) in microseconds, read at the call.
      const sent = BigInt(usec[1] ?? '0');
      assert.ok(sent >= before && sent <= after, `${before} <= ${sent} <= ${after}`);
      assert.equal(stopping, 'STOPPING=1\nSTATUS=stopping');
    } finally {
      receiver.close();
    }
  });

  it('does nothing without NOTIFY_SOCKET', () => {
    const notifier = SystemdNotifier.fromEnvironment(silentLogger(), {});
    assert.equal(notifier.enabled, false);
    notifier.ready('running'); // must not throw
  });
});
