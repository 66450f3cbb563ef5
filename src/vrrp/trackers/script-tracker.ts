import type { Logger } from '../../log.js';
import type { Clock, Timer } from '../../time/clock.js';
import { type CommandResult, type CommandSpec, runCommand } from '../command.js';

/** A keepalived `vrrp_script`. */
export interface TrackScriptDefinition extends CommandSpec {
  readonly name: string;
  /** Time between runs (keepalived `interval`, default 1 s). */
  readonly intervalMs?: number;
  /** A run longer than this is killed with its process group and counts as a failure. */
  readonly timeoutMs?: number;
  /** Consecutive failures before the script is considered down (default 1). */
  readonly fall?: number;
  /** Consecutive successes before the script is considered up again (default 1). */
  readonly rise?: number;
  /** Default weight for instances that track it without one (default 0). */
  readonly weight?: number;
  readonly reverse?: boolean;
  /** Start in the failed state (keepalived `init_fail`). */
  readonly initFail?: boolean;
}

/**
 * Runs a script every interval and turns exit codes into an up/down status
 * with fall/rise hysteresis. One tracker serves every instance naming it.
 */
export class ScriptTracker {
  readonly definition: TrackScriptDefinition;
  private up: boolean;
  private successes = 0;
  private failures = 0;
  private timer: Timer | undefined;
  private running = false;
  private closed = true;
  private readonly listeners = new Set<(up: boolean) => void>();
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(definition: TrackScriptDefinition, deps: { clock: Clock; logger: Logger }) {
    this.definition = definition;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.up = definition.initFail !== true;
  }

  isUp(): boolean {
    return this.up;
  }

  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (!this.closed) return;
    this.closed = false;
    this.runOnce();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Feeds one result through fall/rise; exposed so the rules can be tested alone. */
  record(success: boolean): void {
    if (success) {
      this.failures = 0;
      this.successes++;
      if (!this.up && this.successes >= (this.definition.rise ?? 1)) this.setUp(true);
    } else {
      this.successes = 0;
      this.failures++;
      if (this.up && this.failures >= (this.definition.fall ?? 1)) this.setUp(false);
    }
  }

  private setUp(up: boolean): void {
    this.up = up;
    this.logger.info(
      { script: this.definition.name, up },
      `track script ${up ? 'succeeded' : 'failed'}`,
    );
    for (const listener of this.listeners) listener(up);
  }

  private runOnce(): void {
    if (this.closed || this.running) return;
    this.running = true;
    const started = this.clock.now();
    const interval = this.definition.intervalMs ?? 1000;
    // Through a promise so a synchronous spawn error (unknown user) is caught like the rest.
    Promise.resolve()
      .then(() =>
        runCommand(this.definition, {
          clock: this.clock,
          timeoutMs: this.definition.timeoutMs ?? interval,
        }),
      )
      .catch((err: unknown): CommandResult => {
        this.logger.warn({ script: this.definition.name, err }, 'cannot run track script');
        return { exitCode: 127, signal: null, timedOut: false };
      })
      .then((result) => {
        this.running = false;
        if (this.closed) return;
        if (result.timedOut) {
          this.logger.warn({ script: this.definition.name }, 'track script timed out');
        }
        this.record(result.exitCode === 0 && !result.timedOut);
        const wait = Math.max(0, interval - (this.clock.now() - started));
        this.timer = this.clock.setTimer(wait, () => this.runOnce());
      });
  }
}
