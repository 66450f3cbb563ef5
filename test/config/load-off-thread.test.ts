import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { type LoadOptions, loadConfig } from '../../src/config/load.js';
import { loadConfigOffThread, type OffThreadLimits } from '../../src/config/load-off-thread.js';
import { fixturesDir, tempDir } from './helpers.js';

/** `services` virtual servers × `reals` TCP-checked reals; `wlc` warns about each one. */
function manyServices(services: number, reals: number, scheduler = 'wrr'): string {
  const parts = ['vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n}\n'];
  for (let v = 0; v < services; v++) {
    parts.push(
      `virtual_server 10.${100 + (v >> 8)}.${v & 0xff}.1 80 {\n  lvs_sched ${scheduler}\n  lvs_method DR\n`,
    );
    for (let r = 0; r < reals; r++)
      parts.push(
        `  real_server 172.16.${v & 0xff}.${r + 1} 80 {\n    weight ${1 + (r % 5)}\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n`,
      );
    parts.push('}\n');
  }
  return parts.join('');
}

async function refusal(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('the load was not refused');
}

function syncRefusal(path: string, options?: LoadOptions): ConfigError {
  try {
    loadConfig(path, options);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('the load was not refused');
}

/** Every object reachable from `value` is frozen; names the first that is not. */
function assertDeepFrozen(value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return;
  assert.ok(Object.isFrozen(value), `${path} is not frozen`);
  for (const [key, child] of Object.entries(value)) assertDeepFrozen(child, `${path}.${key}`);
}

test('a worker load gives the same configuration, warnings and format as loadConfig, deep-frozen', async (t) => {
  const dir = tempDir(t);
  const files = [join(fixturesDir(), 'full-featured.conf'), join(dir, 'many.conf')];
  // 40 × 32 reals: the virtual servers come back in several pieces.
  writeFileSync(files[1] as string, manyServices(40, 32, 'wlc'));
  for (const file of files) {
    const options = { existingInterfaces: new Set(['lo', 'eth0', 'eth1', 'eth2']) };
    const expected = loadConfig(file, options);
    const loaded = await loadConfigOffThread(file, options);
    assert.deepEqual(loaded, expected);
    assertDeepFrozen(loaded.config, 'config');
    const real = loaded.config.virtualServers.at(-1)?.realServers.at(-1);
    assert.ok(real !== undefined && Object.isFrozen(real) && Object.isFrozen(real.checkers[0]));
  }
});

test('a refused configuration has the same problems at the same positions as loadConfig', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.conf');
  writeFileSync(
    file,
    `${manyServices(3, 2)}virtual_server 10.0.0.1 80 {\n  lvs_sched fastest\n  real_server 10.0.0.300 80 {\n  }\n}\n`,
  );
  const options = { existingInterfaces: ['lo'], requireWork: true };
  const expected = syncRefusal(file, options).issues;
  assert.ok(expected.length >= 2, 'the file has several problems');
  const refused = await refusal(loadConfigOffThread(file, options));
  assert.deepEqual(refused.issues, expected);
  assert.match(refused.message, /bad\.conf:\d+:\d+: /);
  const missing = join(dir, 'missing.conf');
  assert.deepEqual(
    (await refusal(loadConfigOffThread(missing))).issues,
    syncRefusal(missing).issues,
  );
});

test('a load that runs past its time or memory bound is stopped and refused with the bound', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'large.conf');
  writeFileSync(file, manyServices(400, 32));
  const refusedWith = async (limits: OffThreadLimits, reason: string) => {
    const refused = await refusal(loadConfigOffThread(file, {}, limits));
    assert.deepEqual(refused.issues, [
      { file, line: 1, column: 1, message: `Cannot load configuration: ${reason}` },
    ]);
  };
  await refusedWith({ timeoutMs: 1, maxHeapMb: 1024 }, 'loading took longer than 1 ms');
  await refusedWith(
    { timeoutMs: 120_000, maxHeapMb: 8 },
    'loading needs more than 8 MiB of memory',
  );
});
