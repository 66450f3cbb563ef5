import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CheckEvent,
  CheckScheduler,
  MAX_LAUNCHES_PER_TURN,
  type ScheduledCheckOptions,
} from '../../src/checkers/scheduler.js';
import type { Clock, Timer } from '../../src/time/clock.js';
import { FakeChecker } from './support/fake-checker.js';
import { SteppedClock } from './support/stepped-clock.js';

function timing(overrides: Partial<ScheduledCheckOptions> = {}) {
  return {
    delayLoopMs: 1_000,
    retry: 1,
    delayBeforeRetryMs: 200,
    warmupMs: 0,
    alpha: false,
    ...overrides,
  };
}

describe('check scheduler timing', () => {
  it('schedules from due times, so slow checks do not drift', async () => {
    const clock = new SteppedClock();
    const checker = new FakeChecker(clock, [], 900, { after: 300, result: { ok: true } });
    const scheduler = new CheckScheduler({ clock });
    scheduler.add({ id: 'a', real: 'r', checker, ...timing() });
    scheduler.start();
    await clock.advance(5_000);
    assert.deepEqual(checker.calls, [0, 1_000, 2_000, 3_000, 4_000, 5_000]);
    await scheduler.stop();
  });

  it('spreads first runs over the warmup with the injected random source', async () => {
    const clock = new SteppedClock();
    const values = [0, 0.25, 0.999];
    const scheduler = new CheckScheduler({ clock, random: () => values.shift() ?? 0 });
    const checkers = [0, 1, 2].map(() => new FakeChecker(clock, []));
    checkers.forEach((checker, i) => {
      scheduler.add({ id: `c${i}`, real: 'r', checker, ...timing({ warmupMs: 4_000 }) });
    });
    scheduler.start();
    await clock.advance(4_000);
    assert.deepEqual(
      checkers.map((c) => c.calls[0]),
      [0, 1_000, 3_996],
    );
    await scheduler.stop();
  });

  it('keeps one timer however many checks there are', async () => {
    const clock = new SteppedClock();
    const scheduler = new CheckScheduler({ clock, random: Math.random });
    const checkers = Array.from({ length: 2_000 }, () => new FakeChecker(clock, []));
    checkers.forEach((checker, i) => {
      scheduler.add({ id: `c${i}`, real: `r${i}`, checker, ...timing({ warmupMs: 1_000 }) });
    });
    scheduler.start();
    assert.equal(clock.pendingTimers(), 1);
    await clock.advance(3_000);
    // Every check ran once per delay_loop: 3 or 4 times in 3 s depending on its warmup.
    for (const checker of checkers) {
      assert.ok(checker.calls.length >= 3 && checker.calls.length <= 4, `${checker.calls}`);
    }
    await scheduler.stop();
  });

  it('bounds concurrency, and a hung target holds its slot only until its timeout', async () => {
    const clock = new SteppedClock();
    const scheduler = new CheckScheduler({ clock, concurrency: 2 });
    const hung = [0, 1].map(() => new FakeChecker(clock, [], 500, 'hang'));
    const healthy = new FakeChecker(clock, [], 500);
    const events: CheckEvent[] = [];
    scheduler.onEvent((e) => events.push(e));
    hung.forEach((checker, i) => {
      scheduler.add({ id: `hung${i}`, real: 'h', checker, ...timing({ retry: 0 }) });
    });
    scheduler.add({ id: 'healthy', real: 'ok', checker: healthy, ...timing() });
    scheduler.start();
    await clock.advance(0);
    assert.equal(healthy.calls.length, 0, 'both slots are taken by hung checks');
    await clock.advance(500);
    assert.deepEqual(
      healthy.calls,
      [500],
      'the healthy check runs as soon as a timeout frees a slot',
    );
    assert.ok(
      hung.every((c) => c.aborted === 1),
      'hung checks were aborted at their timeout',
    );
    assert.ok(Math.max(...hung.map((c) => c.maxInFlight), healthy.maxInFlight) <= 1);
    assert.deepEqual(
      events.map((e) => [e.id, e.up, e.reason]),
      [
        ['hung0', false, 'timeout after 500 ms'],
        ['hung1', false, 'timeout after 500 ms'],
      ],
    );
    await scheduler.stop();
  });

  it('keeps programs and socket checks apart: hung ones of one kind do not hold up the other', async () => {
    const clock = new SteppedClock();
    const scheduler = new CheckScheduler({ clock, concurrency: 1, programConcurrency: 1 });
    const hungSocket = new FakeChecker(clock, [], 5_000, 'hang');
    const hungProgram = new FakeChecker(clock, [], 5_000, 'hang');
    hungProgram.kind = 'MISC_CHECK';
    const socket = new FakeChecker(clock, [], 5_000);
    const program = new FakeChecker(clock, [], 5_000);
    program.kind = 'MISC_CHECK';
    scheduler.add({ id: 'hung-socket', real: 'a', checker: hungSocket, ...timing({ retry: 0 }) });
    scheduler.add({ id: 'hung-program', real: 'b', checker: hungProgram, ...timing({ retry: 0 }) });
    scheduler.add({ id: 'socket', real: 'c', checker: socket, ...timing() });
    scheduler.add({ id: 'program', real: 'd', checker: program, ...timing() });
    scheduler.start();
    await clock.advance(0);
    // Each kind's only slot is held by its hung check: both healthy ones wait.
    assert.deepEqual([socket.calls, program.calls], [[], []]);
    await clock.advance(5_000);
    assert.deepEqual([socket.calls, program.calls], [[5_000], [5_000]]);
    await scheduler.stop();
  });

  it('starts checks due at once a slice per timer callback, all at their due time', async () => {
    // A clock whose timers fire only when the test says: one callback at a time.
    const callbacks: (() => void)[] = [];
    const clock: Clock = {
      now: () => 0,
      setTimer: (_delayMs: number, fn: () => void): Timer => {
        let live = true;
        callbacks.push(() => live && fn());
        return {
          cancel: () => {
            live = false;
          },
        };
      },
    };
    let started = 0;
    const scheduler = new CheckScheduler({ clock });
    for (let i = 0; i < 300; i++) {
      scheduler.add({
        id: `c${i}`,
        real: 'r',
        checker: {
          kind: 'TCP_CHECK',
          target: 't',
          timeoutMs: 1_000,
          check: () => {
            started++;
            return new Promise(() => undefined);
          },
        },
        ...timing(),
      });
    }
    scheduler.start();
    const fire = async () => {
      callbacks.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    };
    await fire();
    assert.equal(started, MAX_LAUNCHES_PER_TURN);
    while (started < 300 && callbacks.length > 0) await fire();
    assert.equal(started, 300);
  });

  it('skips runs while suspended and resumes on the next tick', async () => {
    const clock = new SteppedClock();
    const scheduler = new CheckScheduler({ clock });
    const checker = new FakeChecker(clock, []);
    const handle = scheduler.add({ id: 'a', real: 'r', checker, ...timing() });
    scheduler.start();
    await clock.advance(1_000);
    handle.suspend();
    await clock.advance(3_000);
    assert.deepEqual(checker.calls, [0, 1_000]);
    handle.resume();
    await clock.advance(1_000);
    assert.deepEqual(checker.calls, [0, 1_000, 5_000]);
    await scheduler.stop();
  });

  it('aborts checks in flight on stop and reports nothing after', async () => {
    const clock = new SteppedClock();
    const scheduler = new CheckScheduler({ clock });
    const checker = new FakeChecker(clock, [], 10_000, 'hang');
    const events: CheckEvent[] = [];
    scheduler.onEvent((e) => events.push(e));
    scheduler.add({ id: 'a', real: 'r', checker, ...timing({ retry: 0 }) });
    scheduler.start();
    await clock.advance(100);
    assert.equal(scheduler.pending, 1);
    await scheduler.stop();
    assert.equal(checker.aborted, 1);
    assert.equal(scheduler.pending, 0);
    await clock.advance(20_000);
    assert.deepEqual(events, []);
    assert.equal(checker.calls.length, 1);
  });

  it('stops running a removed check', async () => {
    const clock = new SteppedClock();
    const scheduler = new CheckScheduler({ clock });
    const checker = new FakeChecker(clock, []);
    const handle = scheduler.add({ id: 'a', real: 'r', checker, ...timing() });
    scheduler.start();
    await clock.advance(1_000);
    handle.remove();
    await clock.advance(5_000);
    assert.deepEqual(checker.calls, [0, 1_000]);
    const again = scheduler.add({ id: 'a', real: 'r', checker, ...timing() });
    assert.throws(() => scheduler.add({ id: 'a', real: 'r', checker, ...timing() }), /exists/);
    again.remove();
    await scheduler.stop();
  });
});
