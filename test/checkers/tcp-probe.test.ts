import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { runCheck } from '../../src/checkers/run-check.js';
import { TcpChecker } from '../../src/checkers/tcp-check.js';
import { probeTcp } from '../../src/checkers/tcp-probe.js';
import { native } from '../../src/native/addon.js';
import { NativeError } from '../../src/native/native-error.js';
import { closeServer, listenLocal, unusedPort } from './support/servers.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** The fds open now, once the prober (one epoll fd, made on first use) exists. */
async function openFdsWithProber(): Promise<number> {
  const port = await unusedPort();
  await probeTcp(
    { connectIp: '127.0.0.1', connectPort: port, connectTimeoutMs: 5_000 },
    new AbortController().signal,
  ).catch(() => undefined);
  return openFds();
}

/**
 * A listener whose accept queue is full: a stopped process listening with a
 * backlog of 1, its queue filled by connections it never accepts, so the
 * kernel drops further SYNs and a connect can only time out.
 */
async function fullListener(): Promise<{ port: number; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').createServer(); s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  child.kill('SIGSTOP');
  const port = Number(line);
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    fillers.push(socket);
  }
  // Two complete into the queue (backlog + 1); the others wait on dropped SYNs.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    port,
    stop: async () => {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
}

describe('TCP connect probes (the addon TcpProber behind TCP_CHECK)', () => {
  it('connects over IPv6', async (t) => {
    const server = net.createServer((socket) => socket.destroy());
    t.after(() => closeServer(server));
    const port = await listenLocal(server, '::1');
    await probeTcp(
      { connectIp: '::1', connectPort: port, connectTimeoutMs: 5_000 },
      new AbortController().signal,
    );
  });

  it('rejects a refused connect with Node-shaped error fields', async () => {
    const port = await unusedPort();
    await assert.rejects(
      probeTcp(
        { connectIp: '127.0.0.1', connectPort: port, connectTimeoutMs: 5_000 },
        new AbortController().signal,
      ),
      {
        code: 'ECONNREFUSED',
        syscall: 'connect',
        address: '127.0.0.1',
        port,
        message: `connect ECONNREFUSED 127.0.0.1:${port}`,
      },
    );
  });

  it('times out on a dropped SYN and closes the abandoned socket', async (t) => {
    const listener = await fullListener();
    t.after(() => listener.stop());
    const before = await openFdsWithProber();
    const result = await runCheck(
      new TcpChecker({
        connectIp: '127.0.0.1',
        connectPort: listener.port,
        connectTimeoutMs: 300,
      }),
    );
    assert.deepEqual(result, { ok: false, reason: 'timeout after 300 ms' });
    assert.equal(openFds(), before, 'the timed-out probe left its socket open');
  });

  it('rejects with the abort reason, before or during the connect', async (t) => {
    const listener = await fullListener();
    t.after(() => listener.stop());
    const options = { connectIp: '127.0.0.1', connectPort: listener.port, connectTimeoutMs: 5_000 };
    const early = new AbortController();
    early.abort(new Error('stopped early'));
    await assert.rejects(probeTcp(options, early.signal), /stopped early/);
    const late = new AbortController();
    const probe = probeTcp(options, late.signal);
    setTimeout(() => late.abort(new Error('stopped late')), 50);
    await assert.rejects(probe, /stopped late/);
  });

  it('settles 1,200 probes in flight at once', async (t) => {
    const server = net.createServer((socket) => socket.destroy());
    t.after(() => closeServer(server));
    const port = await new Promise<number>((resolve) => {
      server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
        resolve((server.address() as net.AddressInfo).port),
      );
    });
    const before = await openFdsWithProber();
    const signal = new AbortController().signal;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 1_200 }, () =>
        probeTcp({ connectIp: '127.0.0.1', connectPort: port, connectTimeoutMs: 5_000 }, signal),
      ),
    );
    assert.deepEqual(
      outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason)),
      [],
    );
    assert.equal(openFds(), before);
  });

  it('binds a fixed bind_port again while the last connection waits in TIME_WAIT', async (t) => {
    const server = net.createServer((socket) => socket.on('error', () => {}));
    t.after(() => closeServer(server));
    const port = await listenLocal(server);
    const bindPort = await unusedPort();
    const options = {
      connectIp: '127.0.0.1',
      connectPort: port,
      bindPort,
      connectTimeoutMs: 5_000,
    };
    // We close first each time; once the server has closed its end too, ours is in
    // TIME_WAIT, and the next bind to the same port needs SO_REUSEADDR.
    for (let i = 0; i < 3; i++) {
      await probeTcp(options, new AbortController().signal);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('connects to a link-local IPv6 address through its zone, and names a zone that is no interface', async () => {
    const signal = new AbortController().signal;
    // lo has no fe80:: address: the kernel refuses, but the zone was understood.
    await assert.rejects(
      probeTcp({ connectIp: 'fe80::1%lo', connectPort: 80, connectTimeoutMs: 5_000 }, signal),
      (err: NodeJS.ErrnoException) => err.syscall === 'connect' && typeof err.code === 'string',
    );
    await assert.rejects(
      probeTcp({ connectIp: 'fe80::1%nosuch0', connectPort: 80, connectTimeoutMs: 5_000 }, signal),
      (err: unknown) =>
        err instanceof NativeError &&
        err.code === 'NATIVE_INVALID_ARGUMENT' &&
        /no interface 'nosuch0'/.test(err.message),
    );
  });

  it('does not keep the process alive once no probe is in progress', async () => {
    const port = await unusedPort();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { probeTcp } from ${JSON.stringify(new URL('../../src/checkers/tcp-probe.js', import.meta.url).href)};
         await probeTcp({ connectIp: '127.0.0.1', connectPort: ${port}, connectTimeoutMs: 1000 }, new AbortController().signal).catch((e) => console.log(e.code));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(killer);
    assert.deepEqual(
      { code, signal, out: out.trim() },
      { code: 0, signal: null, out: 'ECONNREFUSED' },
    );
  });

  it('refuses bad arguments with errors that name them', () => {
    const prober = new (native().TcpProber)(() => undefined);
    try {
      assert.throws(
        () => prober.connect(1, 4, 'not-an-address', 80),
        (err: unknown) =>
          err instanceof NativeError &&
          err.code === 'NATIVE_INVALID_ARGUMENT' &&
          /Cannot probe not-an-address:80: not an IPv4 address/.test(err.message),
      );
      assert.throws(() => prober.connect(1, 4, '127.0.0.1', 0), /a port 1\.\.65535/);
      assert.throws(
        () => prober.connect(1, 4, '127.0.0.1', 80, '::1'),
        /bind address '::1' is not an IPv4 address/,
      );
      assert.equal(prober.cancel(12345), false);
    } finally {
      prober.close();
    }
    assert.throws(() => prober.connect(1, 4, '127.0.0.1', 80), /TCP prober is closed/);
  });
});
