import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DumpWriter } from '../../src/daemon/runtime-dump.js';
import { silentLogger } from '../../src/log.js';

describe('signal dumps', () => {
  it('write one dump per file at a time: a request during one is refused, the file is whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbctl-dump-'));
    try {
      const writer = new DumpWriter(silentLogger());
      const path = join(dir, 'unit.data');
      let release: (text: string) => void = () => undefined;
      const slow = new Promise<string>((resolve) => {
        release = resolve;
      });
      assert.equal(
        writer.request('data dump', path, () => slow),
        true,
      );
      // A burst of signals while the first dump is being made.
      for (let i = 0; i < 5; i++) {
        assert.equal(
          writer.request('data dump', path, async () => `second ${i}\n`),
          false,
        );
      }
      // Another file is independent.
      const stats = join(dir, 'unit.stats');
      assert.equal(
        writer.request('statistics', stats, async () => 'stats\n'),
        true,
      );
      release('first\n');
      while (writer.busy(path) || writer.busy(stats)) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(readFileSync(path, 'utf8'), 'first\n');
      assert.equal(readFileSync(stats, 'utf8'), 'stats\n');
      assert.deepEqual(readdirSync(dir).sort(), ['unit.data', 'unit.stats']);
      // Once written, the next signal writes again.
      assert.equal(
        writer.request('data dump', path, async () => 'again\n'),
        true,
      );
      while (writer.busy(path)) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(readFileSync(path, 'utf8'), 'again\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
