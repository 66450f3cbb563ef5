import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlRequestError, controlRequest } from '../../src/control/client.js';
import { arg, MAX_REQUEST_BYTES, parseRequest, RequestError } from '../../src/control/protocol.js';
import { ControlServer } from '../../src/control/server.js';
import { controlSocketPath, resolveInstance } from '../../src/control/socket-path.js';
import { silentLogger } from '../../src/log.js';

/** Sends raw lines and collects reply lines until `count` arrived or the socket closed. */
function exchange(path: string, payload: string, count: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const lines: unknown[] = [];
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(payload));
    socket.on('error', reject);
    socket.on('data', (d: string) => {
      buffered += d;
      let i = buffered.indexOf('\n');
      while (i >= 0) {
        lines.push(JSON.parse(buffered.slice(0, i)));
        buffered = buffered.slice(i + 1);
        i = buffered.indexOf('\n');
      }
      if (lines.length >= count) socket.destroy();
    });
    socket.on('close', () => resolve(lines));
  });
}

describe('control socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-control-'));
  const path = controlSocketPath('unit', dir);
  const server = new ControlServer({
    path,
    logger: silentLogger(),
    handlers: {
      ping: async () => ({ pong: true }),
      'real.set-weight': async (request) => ({
        weight: arg.integer(request.args, 'weight', 0, 65535),
      }),
      connections: async (_request, reply) => {
        await reply.more([[1], [2]]);
        await reply.more([[3]]);
        return { count: 3 };
      },
      status: async () => {
        throw new Error('boom');
      },
    },
  });
  before(() => server.start());
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on <run-dir>/<instance>.sock with mode 0600', () => {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(statSync(path).isSocket());
  });

  it('answers a request and echoes its id', async () => {
    assert.deepEqual(await exchange(path, '{"id":"a","command":"ping"}\n', 1), [
      { id: 'a', ok: true, result: { pong: true } },
    ]);
  });

  it('answers several requests on one connection in order', async () => {
    const lines = await exchange(
      path,
      '{"id":1,"command":"ping"}\n{"id":2,"command":"real.set-weight","args":{"weight":4}}\n',
      2,
    );
    assert.deepEqual(
      lines.map((l) => (l as { id: number }).id),
      [1, 2],
    );
  });

  it('names the field at fault in a bad request', async () => {
    const cases: [string, string][] = [
      ['not json\n', 'request'],
      ['[1]\n', 'request'],
      ['{"command":"nope"}\n', 'command'],
      ['{"command":"ping","extra":1}\n', 'extra'],
      ['{"command":"ping","args":[]}\n', 'args'],
      ['{"command":"real.set-weight","args":{"weight":-1}}\n', 'args.weight'],
      ['{"command":"real.set-weight","args":{"weight":"3"}}\n', 'args.weight'],
    ];
    for (const [payload, field] of cases) {
      const [reply] = (await exchange(path, payload, 1)) as {
        ok: boolean;
        error: { field: string; code: string; message: string };
      }[];
      assert.equal(reply?.ok, false, payload);
      assert.equal(reply?.error.field, field, payload);
      assert.match(reply!.error.message, /^Cannot /);
    }
  });

  it('refuses a command this instance does not offer', async () => {
    const [reply] = (await exchange(path, '{"command":"reload"}\n', 1)) as {
      error: { code: string };
    }[];
    assert.equal(reply?.error.code, 'CONTROL_UNAVAILABLE');
  });

  it('reports an unexpected failure as an internal error, in its own words', async () => {
    const [reply] = (await exchange(path, '{"command":"status"}\n', 1)) as {
      error: { code: string; message: string };
    }[];
    assert.deepEqual(reply?.error, {
      code: 'CONTROL_INTERNAL',
      message: 'Cannot complete the request: boom',
    });
  });

  it('closes a connection whose request line exceeds the limit', async () => {
    const lines = (await exchange(path, 'x'.repeat(MAX_REQUEST_BYTES + 10), 1)) as {
      error: { code: string };
    }[];
    assert.equal(lines[0]?.error.code, 'CONTROL_REQUEST_TOO_LARGE');
  });

  it('streams partial results before the final one (client side)', async () => {
    const chunks: unknown[] = [];
    const result = await controlRequest(
      'connections',
      {},
      {
        path,
        instance: 'unit',
        onMore: (r) => chunks.push(r),
      },
    );
    assert.deepEqual(chunks, [[[1], [2]], [[3]]]);
    assert.deepEqual(result, { count: 3 });
  });

  it('gives the client the daemon error with its code and field', async () => {
    await assert.rejects(
      controlRequest('real.set-weight', { weight: 70000 }, { path, instance: 'unit' }),
      (err: unknown) =>
        err instanceof ControlRequestError &&
        err.body.field === 'args.weight' &&
        err.code === 'CONTROL_BAD_REQUEST',
    );
  });

  it('tells the client when nothing runs the instance', async () => {
    await assert.rejects(
      controlRequest('ping', {}, { path: join(dir, 'absent.sock'), instance: 'absent' }),
      /Cannot ping instance 'absent': no lbctl runs it/,
    );
  });

  it('picks the only running instance, else "default"', () => {
    const other = mkdtempSync(join(tmpdir(), 'lbctl-control-'));
    try {
      assert.equal(resolveInstance(undefined, other), 'default');
      writeFileSync(join(other, 'web.sock'), '');
      assert.equal(resolveInstance(undefined, other), 'web');
      writeFileSync(join(other, 'db.sock'), '');
      assert.equal(resolveInstance(undefined, other), 'default');
      assert.equal(resolveInstance('db', other), 'db');
      assert.equal(resolveInstance(undefined, join(other, 'missing')), 'default');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('parses requests without a server', () => {
    assert.deepEqual(parseRequest('{"command":"ping"}'), { id: null, command: 'ping', args: {} });
    assert.throws(
      () => parseRequest('{"id":{},"command":"ping"}'),
      (e: unknown) => e instanceof RequestError && e.field === 'id',
    );
  });
});
