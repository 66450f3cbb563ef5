import type { ScriptOptions } from '../../src/health/options.js';
import type { ScriptEvent, ScriptRunner } from '../../src/health/script-runner.js';

/** Records the scripts a service asks to run, in order. */
export class RecordingScripts implements ScriptRunner {
  readonly runs: { command: string; kind: ScriptEvent['kind']; real?: string }[] = [];

  run(script: ScriptOptions, event: ScriptEvent): Promise<void> {
    this.runs.push({
      command: script.command,
      kind: event.kind,
      ...(event.real !== undefined ? { real: event.real } : {}),
    });
    return Promise.resolve();
  }

  kinds(): string[] {
    return this.runs.map((r) => (r.real === undefined ? r.kind : `${r.kind} ${r.real}`));
  }
}
