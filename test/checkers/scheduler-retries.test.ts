import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CheckEvent, CheckScheduler } from '../../src/checkers/scheduler.js';
import { FakeChecker, type Scripted } from './support/fake-checker.js';
import { SteppedClock } from './support/stepped-clock.js';

const FAIL = { ok: false, reason: 'connection refused' } as const;
const OK = { ok: true } as const;

function setup(script: Scripted[], opts: { retry: number; alpha?: boolean; fallback?: Scripted }) {
  const clock = new SteppedClock();
  const checker = new FakeChecker(clock, script, 500, opts.fallback ?? OK);
  const scheduler = new CheckScheduler({ clock });
  const events: (CheckEvent & { at: number })[] = [];
  scheduler.onEvent((e) => events.push({ ...e, at: clock.now() }));
  const handle = scheduler.add({
    id: 'c1',
    real: '10.0.0.1:80',
    checker,
    delayLoopMs: 10_000,
    retry: opts.retry,
    delayBeforeRetryMs: 1_000,
    warmupMs: 0,
    alpha: opts.alpha ?? false,
  });
  scheduler.start();
  return { clock, checker, scheduler, events, handle };
}

describe('check scheduler retries (keepalived semantics)', () => {
  for (const retry of [0, 1, 3]) {
    it(`declares an up real down after exactly ${retry} retries`, async () => {
      const { clock, checker, scheduler, events } = setup([], { retry, fallback: FAIL });
      // Everything up to the last retry must not flip the state.
      await clock.advance(retry * 1_000);
      assert.equal(checker.calls.length, retry + 1);
      assert.deepEqual(
        checker.calls,
        Array.from({ length: retry + 1 }, (_, i) => i * 1_000),
        'attempts are spaced by delay_before_retry',
      );
      assert.equal(events.length, 1);
      assert.deepEqual(events[0], {
        id: 'c1',
        real: '10.0.0.1:80',
        up: false,
        reason: 'connection refused',
        at: retry * 1_000,
      });
      // After the verdict the next run is a regular one, a delay_loop later.
      await clock.advance(10_000);
      assert.equal(checker.calls.at(-1), retry * 1_000 + 10_000);
      await scheduler.stop();
    });
  }

  it('does not go down when a retry succeeds, and starts the count afresh', async () => {
    const { clock, checker, scheduler, events } = setup([FAIL, FAIL, OK, FAIL, FAIL, FAIL], {
      retry: 2,
    });
    await clock.advance(2_000);
    assert.deepEqual(checker.calls, [0, 1_000, 2_000]);
    assert.equal(events.length, 0, 'a success inside the retry window keeps it up');
    // Regular run at 12 000 fails, retries at 13 000 and 14 000: down at 14 000.
    await clock.advance(11_900);
    assert.equal(events.length, 0);
    await clock.advance(100);
    assert.deepEqual(checker.calls, [0, 1_000, 2_000, 12_000, 13_000, 14_000]);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.at, 14_000);
    await scheduler.stop();
  });

  it('brings a down real up on the first success', async () => {
    const { clock, scheduler, events } = setup([FAIL, FAIL, FAIL, OK], { retry: 1 });
    await clock.advance(1_000);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.up, false);
    // Down: 11 000 fails (retry at 12 000 succeeds), so up at 12 000.
    await clock.advance(11_000);
    assert.equal(events.length, 2);
    assert.deepEqual(events[1], { id: 'c1', real: '10.0.0.1:80', up: true, at: 12_000 });
    await scheduler.stop();
  });

  it('starts down under alpha and comes up on the first success', async () => {
    const { clock, scheduler, events, handle } = setup([OK], { retry: 3, alpha: true });
    assert.equal(handle.state().up, false);
    await clock.advance(100);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0], { id: 'c1', real: '10.0.0.1:80', up: true, at: 0 });
    await scheduler.stop();
  });

  it('stays silent under alpha while a never-up real keeps failing', async () => {
    const { clock, scheduler, events, checker } = setup([], {
      retry: 1,
      alpha: true,
      fallback: FAIL,
    });
    await clock.advance(30_000);
    assert.ok(checker.calls.length >= 4);
    assert.equal(events.length, 0);
    await scheduler.stop();
  });

  it('reports a dynamic weight change while up', async () => {
    const { clock, scheduler, events } = setup([{ ok: true, weight: 5 }, { ok: true }], {
      retry: 1,
    });
    await clock.advance(10_000);
    assert.deepEqual(
      events.map((e) => [e.up, e.weight, e.at]),
      [[true, 5, 0]],
      'exit 0 after a dynamic weight keeps that weight and emits nothing',
    );
    await scheduler.stop();
  });
});
