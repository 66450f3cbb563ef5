import { Command, CommanderError } from 'commander';
import { LbctlError } from '../errors.js';
import { lbctlVersion } from '../version.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerConvertCommand } from './commands/convert.js';
import { registerCounterCommand } from './commands/counter.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerLabCommand } from './commands/lab.js';
import { registerRealCommand } from './commands/real.js';
import { registerReloadCommand } from './commands/reload.js';
import { registerStatusCommand } from './commands/status.js';
import { registerUpCommand } from './commands/up.js';
import { registerValidateCommand } from './commands/validate.js';

export function buildProgram(): Command {
  const program = new Command('lbctl')
    .description('High-availability layer-4 load balancer: VRRP control plane, XDP data plane')
    .version(lbctlVersion(), '-V, --version')
    .showHelpAfterError();
  registerDoctorCommand(program);
  registerCounterCommand(program);
  registerUpCommand(program);
  registerLabCommand(program);
  registerValidateCommand(program);
  registerConvertCommand(program);
  registerStatusCommand(program);
  registerReloadCommand(program);
  registerRealCommand(program);
  registerCompletionCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof LbctlError ? ` [${err.code}]` : '';
    process.stderr.write(`lbctl: ${message}${code}\n`);
    process.exitCode = 1;
  }
}
