import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Daemon } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/log.js';
import type { Service } from '../../src/service.js';

/** Records starts and closes, in order, in a shared journal; may refuse to start. */
function recording(journal: string[], name: string, failStart = false): Service {
  return {
    name,
    async start() {
      if (failStart) throw new Error(`${name} cannot start`);
      journal.push(`start ${name}`);
    },
    async close() {
      journal.push(`close ${name}`);
    },
  };
}

describe('Daemon close order', () => {
  it('closes in reverse start order by default', async () => {
    const journal: string[] = [];
    const daemon = new Daemon(
      ['a', 'b', 'c'].map((n) => recording(journal, n)),
      silentLogger(),
    );
    await daemon.start();
    await daemon.close();
    assert.deepEqual(journal, ['start a', 'start b', 'start c', 'close c', 'close b', 'close a']);
  });

  it('closes in the given stop order, then what it leaves out in reverse start order', async () => {
    const journal: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => recording(journal, n)) as [
      Service,
      Service,
      Service,
      Service,
    ];
    const daemon = new Daemon([a, b, c, d], silentLogger(), { stopOrder: [d, b, c] });
    await daemon.start();
    journal.length = 0;
    await daemon.close();
    assert.deepEqual(journal, ['close d', 'close b', 'close c', 'close a']);
  });

  it('after a failed start closes only what started, in the stop order', async () => {
    const journal: string[] = [];
    const a = recording(journal, 'a');
    const b = recording(journal, 'b');
    const c = recording(journal, 'c', true);
    const daemon = new Daemon([a, b, c], silentLogger(), { stopOrder: [a, c, b] });
    await assert.rejects(daemon.start(), /c cannot start/);
    assert.deepEqual(journal, ['start a', 'start b', 'close a', 'close b']);
  });
});
