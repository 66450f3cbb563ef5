import type { Command } from 'commander';
import { ConfigError, formatIssue } from '../../config/errors.js';
import { loadConfig } from '../../config/load.js';
import { redactConfig } from '../../config/redact.js';
import { DEFAULT_CONFIG_PATHS, resolveConfigPath } from '../default-config.js';

/** Where a command writes; tests pass their own. */
export interface CommandOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOutput: CommandOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export interface ValidateOptions {
  readonly strict?: boolean;
  readonly configId?: string;
  readonly dump?: boolean;
}

/** Checks a configuration file; returns the exit code (0 valid, 1 invalid). */
export function runValidate(file: string, options: ValidateOptions, out: CommandOutput): number {
  try {
    const { config, warnings, format } = loadConfig(file, {
      requireWork: true,
      ...(options.strict !== undefined && { strict: options.strict }),
      ...(options.configId !== undefined && { configId: options.configId }),
    });
    for (const w of warnings) out.stderr(`warning: ${formatIssue(w)}\n`);
    if (options.dump) {
      out.stdout(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
    } else {
      out.stdout(
        `${file}: valid ${format === 'yaml' ? 'YAML' : 'keepalived'} configuration ` +
          `(${config.vrrpInstances.length} vrrp instances, ${config.virtualServers.length} virtual servers` +
          `${warnings.length > 0 ? `, ${warnings.length} warnings` : ''})\n`,
      );
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) out.stderr(`error: ${formatIssue(issue)}\n`);
    out.stderr(`${file}: invalid configuration (${err.issues.length} errors)\n`);
    return 1;
  }
}

export function registerValidateCommand(
  program: Command,
  out: CommandOutput = processOutput,
): void {
  program
    .command('validate')
    .description('check a configuration file (YAML or keepalived.conf) and report every problem')
    .argument('[file]', `configuration file (default: ${DEFAULT_CONFIG_PATHS.join(', else ')})`)
    .option('--strict', 'reject unknown keepalived keywords instead of warning')
    .option(
      '--config-id <id>',
      'keepalived config-id for @id conditional lines (default: short host name)',
    )
    .option('--dump', 'print the resolved configuration as JSON, secrets redacted')
    .action((file: string | undefined, options: ValidateOptions) => {
      process.exitCode = runValidate(resolveConfigPath(file), options, out);
    });
}
