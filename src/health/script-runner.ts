import { parseCommandLine } from '../checkers/command-line.js';
import { runProgram } from '../checkers/run-program.js';
import { resolveCredentials } from '../checkers/system-user.js';
import type { Logger } from '../log.js';
import type { ScriptOptions } from './options.js';

/** Why a script runs; passed to the runner for logging. */
export interface ScriptEvent {
  readonly kind: 'notify_up' | 'notify_down' | 'quorum_up' | 'quorum_down';
  readonly service: string;
  readonly real?: string;
}

/** Runs notify and quorum scripts. Never rejects; failures are the runner's to report. */
export interface ScriptRunner {
  run(script: ScriptOptions, event: ScriptEvent): Promise<void>;
}

/**
 * Runs scripts as processes (no shell unless the command needs one), each in
 * its own process group, terminated after `timeoutMs`.
 */
export class ProcessScriptRunner implements ScriptRunner {
  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 30_000,
  ) {}

  async run(script: ScriptOptions, event: ScriptEvent): Promise<void> {
    const context = { script: script.command, ...event };
    try {
      const command = parseCommandLine(script.command);
      const credentials =
        script.user === undefined ? undefined : await resolveCredentials(script.user);
      const exit = await runProgram(command, {
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(credentials !== undefined ? { credentials } : {}),
      });
      if (exit.code !== 0) {
        this.logger.warn(
          { ...context, code: exit.code, signal: exit.signal },
          `${event.kind} script for ${event.real ?? event.service} exited with ${exit.code ?? exit.signal}`,
        );
      }
    } catch (err) {
      this.logger.warn(
        { ...context, err },
        `Cannot run ${event.kind} script for ${event.real ?? event.service}: ${(err as Error).message}`,
      );
    }
  }
}
