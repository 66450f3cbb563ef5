import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import type { Config } from '../../src/config/model.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { ReloadRefusedError } from '../../src/daemon/reload-refused.js';
import { silentLogger } from '../../src/log.js';
import type { Service } from '../../src/service.js';

const config = {} as Config;

class FakeService implements Service {
  applied: Config[] = [];
  constructor(
    readonly name: string,
    private readonly refuse?: string[],
  ) {}
  async start() {}
  async close() {}
  planReload(next: Config) {
    if (this.refuse !== undefined) throw new ReloadRefusedError(this.refuse);
    return {
      summary: `${this.name} reloaded`,
      apply: async () => {
        this.applied.push(next);
      },
    };
  }
}

describe('Daemon.reload', () => {
  it('applies every plan, in start order, when all services accept', async () => {
    const a = new FakeService('a');
    const b = new FakeService('b');
    const daemon = new Daemon([a, b], silentLogger(), {
      readConfig: async () => ({ config, warnings: ['w1'] }),
    });
    await daemon.start();
    assert.deepEqual(await daemon.reload(), {
      summary: ['a reloaded', 'b reloaded'],
      warnings: ['w1'],
    });
    assert.equal(a.applied.length, 1);
    assert.equal(b.applied.length, 1);
  });

  it('applies nothing when one service refuses, and reports every reason', async () => {
    const a = new FakeService('a');
    const b = new FakeService('b', ['one', 'two']);
    const c = new FakeService('c', ['three']);
    const daemon = new Daemon([a, b, c], silentLogger(), {
      readConfig: async () => ({ config, warnings: [] }),
    });
    await daemon.start();
    await assert.rejects(daemon.reload(), (err: unknown) => {
      assert.ok(err instanceof ReloadRefusedError);
      assert.deepEqual(err.details, ['one', 'two', 'three']);
      return true;
    });
    assert.equal(a.applied.length, 0);
  });

  it('refuses an invalid file with every problem and its position', async () => {
    const a = new FakeService('a');
    const daemon = new Daemon([a], silentLogger(), {
      readConfig: async () => {
        throw new ConfigError([
          { file: 'x.conf', line: 3, column: 5, message: 'unexpected }' },
          { file: 'x.conf', line: 9, column: 1, message: 'weight must be 0-65535' },
        ]);
      },
    });
    await daemon.start();
    await assert.rejects(daemon.reload(), (err: unknown) => {
      assert.ok(err instanceof ReloadRefusedError);
      assert.deepEqual(err.details, [
        'x.conf:3:5: unexpected }',
        'x.conf:9:1: weight must be 0-65535',
      ]);
      return true;
    });
    assert.equal(a.applied.length, 0);
  });

  it('runs reloads one at a time and refuses after close', async () => {
    let running = 0;
    let most = 0;
    const daemon = new Daemon([new FakeService('a')], silentLogger(), {
      readConfig: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return { config, warnings: [] };
      },
    });
    await daemon.start();
    await Promise.all([daemon.reload(), daemon.reload(), daemon.reload()]);
    assert.equal(most, 1);
    await daemon.close();
    await assert.rejects(daemon.reload(), /shutting down/);
  });
});
