import type { Command } from 'commander';
import { ControlRequestError } from '../../control/client.js';
import type { ReloadOutcome } from '../../daemon/reload.js';
import { type ControlOptions, request, withControlOptions } from './control-client.js';

/**
 * `lbctl reload`: the running instance rereads its configuration file (the
 * same as SIGHUP). Exits non-zero with every problem when the new
 * configuration is refused; the instance then keeps running the old one.
 */
export function registerReloadCommand(program: Command): void {
  withControlOptions(
    program
      .command('reload')
      .description('reload the running configuration without a restart (as SIGHUP)'),
  ).action(async (options: ControlOptions) => {
    try {
      const outcome = (await request(options, 'reload')) as ReloadOutcome;
      for (const w of outcome.warnings) process.stderr.write(`warning: ${w}\n`);
      for (const line of outcome.summary) process.stdout.write(`${line}\n`);
    } catch (err) {
      if (err instanceof ControlRequestError && err.body.details !== undefined) {
        process.stderr.write('lbctl: reload refused; still running the previous configuration:\n');
        for (const d of err.body.details) process.stderr.write(`  ${d}\n`);
        process.exitCode = 1;
        return;
      }
      throw err;
    }
  });
}
