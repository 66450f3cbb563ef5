import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { runCheck, startCheck } from '../../src/checkers/run-check.js';
import { FakeChecker } from './support/fake-checker.js';
import { SteppedClock } from './support/stepped-clock.js';

describe('running one check', () => {
  it('cuts a check off at its timeout and aborts its signal', async () => {
    const clock = new SteppedClock();
    const checker = new FakeChecker(clock, [], 300, 'hang');
    const result = runCheck(checker, { clock });
    await clock.advance(300);
    assert.deepEqual(await result, { ok: false, reason: 'timeout after 300 ms' });
    assert.equal(checker.aborted, 1);
  });

  it('is cancelled by its signal, before it starts or while it runs', async () => {
    const clock = new SteppedClock();
    const early = new AbortController();
    early.abort(new Error('stopping'));
    const notStarted = new FakeChecker(clock, [], 1_000, 'hang');
    assert.deepEqual(await runCheck(notStarted, { clock, signal: early.signal }), {
      ok: false,
      reason: 'cancelled',
    });
    assert.equal(notStarted.calls.length, 0);
    const late = new AbortController();
    const running = new FakeChecker(clock, [], 1_000, 'hang');
    const result = runCheck(running, { clock, signal: late.signal });
    late.abort(new Error('stopping'));
    assert.deepEqual(await result, { ok: false, reason: 'cancelled' });
    assert.equal(running.aborted, 1);
  });

  it('leaves no listener on the signal it was given once it has a result', async () => {
    const clock = new SteppedClock();
    const shared = new AbortController();
    const checker = new FakeChecker(clock, []);
    for (let i = 0; i < 100; i++) await runCheck(checker, { clock, signal: shared.signal });
    assert.equal(getEventListeners(shared.signal, 'abort').length, 0);
  });

  it('startCheck: cancel settles it as cancelled, and does nothing once it has a result', async () => {
    const clock = new SteppedClock();
    const hung = startCheck(new FakeChecker(clock, [], 1_000, 'hang'), clock);
    hung.cancel();
    assert.deepEqual(await hung.result, { ok: false, reason: 'cancelled' });
    const quick = startCheck(new FakeChecker(clock, []), clock);
    assert.deepEqual(await quick.result, { ok: true });
    quick.cancel();
    assert.deepEqual(await quick.result, { ok: true });
  });
});
