import { Command, CommanderError } from 'commander';
import { LbctlError } from '../errors.js';
import { lbctlVersion } from '../version.js';

type Register = (program: Command) => void;

/**
 * Every command, in the order `--help` lists them, each imported only when
 * needed: `lbctl validate` need not load the daemon, the lab and the BPF
 * loaders (loading every command cost ~0.2 s of CPU before any work).
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  doctor: async () => (await import('./commands/doctor.js')).registerDoctorCommand,
  counter: async () => (await import('./commands/counter.js')).registerCounterCommand,
  up: async () => (await import('./commands/up.js')).registerUpCommand,
  lab: async () => (await import('./commands/lab.js')).registerLabCommand,
  validate: async () => (await import('./commands/validate.js')).registerValidateCommand,
  convert: async () => (await import('./commands/convert.js')).registerConvertCommand,
  status: async () => (await import('./commands/status.js')).registerStatusCommand,
  reload: async () => (await import('./commands/reload.js')).registerReloadCommand,
  real: async () => (await import('./commands/real.js')).registerRealCommand,
  completion: async () => (await import('./commands/completion.js')).registerCompletionCommand,
};

/**
 * The program with every command, or with only `command` when given (what
 * running it needs: its own help and errors are the same either way).
 */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('lbctl')
    .description('High-availability layer-4 load balancer: VRRP control plane, XDP data plane')
    .version(lbctlVersion(), '-V, --version')
    .showHelpAfterError();
  const names = command !== undefined && command in COMMANDS ? [command] : Object.keys(COMMANDS);
  const registers = await Promise.all(
    names.map((name) => (COMMANDS[name] as () => Promise<Register>)()),
  );
  for (const register of registers) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  // `completion` describes every command; anything else that is not a command
  // (help, --version, a typo to suggest a command for) needs them all too.
  const first = argv[2];
  const only = first !== undefined && first !== 'completion' ? first : undefined;
  const program = (await buildProgram(only)).exitOverride();
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
