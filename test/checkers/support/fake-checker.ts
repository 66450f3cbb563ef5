import type { Checker, CheckResult } from '../../../src/checkers/types.js';
import type { SteppedClock } from './stepped-clock.js';

/** One scripted outcome: a result, a result after some fake time, or a hang. */
export type Scripted =
  | CheckResult
  | { readonly after: number; readonly result: CheckResult }
  | 'hang';

/**
 * A checker whose results are scripted; records when it was called (on the
 * fake clock) and how many runs overlapped.
 */
export class FakeChecker implements Checker {
  /** Set to 'MISC_CHECK' for a check that stands for a program (its own slots). */
  kind = 'FAKE_CHECK';
  readonly calls: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  aborted = 0;
  private readonly script: Scripted[];

  constructor(
    private readonly clock: SteppedClock,
    script: Scripted[],
    readonly timeoutMs = 1000,
    private readonly fallback: Scripted = { ok: true },
    readonly target = 'fake',
  ) {
    this.script = [...script];
  }

  check(signal: AbortSignal): Promise<CheckResult> {
    this.calls.push(this.clock.now());
    const step = this.script.shift() ?? this.fallback;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<CheckResult>((resolve, reject) => {
      const done = (): void => {
        this.inFlight--;
      };
      signal.addEventListener('abort', () => {
        this.aborted++;
        done();
        reject(signal.reason);
      });
      if (step === 'hang') return;
      if ('after' in step) {
        this.clock.setTimer(step.after, () => {
          if (signal.aborted) return;
          done();
          resolve(step.result);
        });
        return;
      }
      done();
      resolve(step);
    });
  }
}

/** Lets promise chains started by timers run to completion. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
