import type { Command as Program } from 'commander';
import { controlRequest } from '../../control/client.js';
import type { Command } from '../../control/protocol.js';
import { controlSocketPath, resolveInstance } from '../../control/socket-path.js';
import { defaultRunDir } from '../../paths.js';

export interface ControlOptions {
  readonly instance?: string;
  readonly runDir: string;
}

/** The options every client command takes. */
export function withControlOptions(command: Program): Program {
  return command
    .option(
      '--instance <name>',
      'instance to talk to (default: the only one running, else "default")',
    )
    .option('--run-dir <dir>', 'where the instance control sockets live', defaultRunDir);
}

/** Sends one request to the chosen instance's control socket. */
export function request(
  options: ControlOptions,
  command: Command,
  args: Record<string, unknown> = {},
  onMore?: (result: unknown) => void,
): Promise<unknown> {
  const instance = resolveInstance(options.instance, options.runDir);
  return controlRequest(command, args, {
    path: controlSocketPath(instance, options.runDir),
    instance,
    ...(onMore !== undefined ? { onMore } : {}),
  });
}
