import { basename } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_READ_LIMITS, readConfigFile } from '../../config/config-file.js';
import { ConfigError, formatIssue, IssueList } from '../../config/errors.js';
import { detectFormat, parseConfigText, readKeepalived } from '../../config/load.js';
import { documentToYaml } from '../../config/to-yaml.js';
import { writePrivateFile } from '../write-private-file.js';
import { type CommandOutput, processOutput } from './validate.js';

export interface ConvertOptions {
  readonly strict?: boolean;
  readonly configId?: string;
  readonly output?: string;
}

/**
 * Converts keepalived.conf to lbctl YAML (stdout or --output). The input must
 * be valid: nothing is written when it is not. Returns the exit code.
 */
export function runConvert(file: string, options: ConvertOptions, out: CommandOutput): number {
  const read = readConfigFile(file, DEFAULT_READ_LIMITS.maxTotalBytes);
  if ('error' in read) {
    const reason = read.tooLarge ? 'the file is too large' : read.error;
    out.stderr(`error: Cannot read ${file}: ${reason}\n`);
    return 1;
  }
  const text = read.text;
  if (detectFormat(text, file) === 'yaml') {
    out.stderr(`error: Cannot convert ${file}: it is already an lbctl YAML configuration\n`);
    return 2;
  }
  const loadOptions = {
    format: 'keepalived' as const,
    ...(options.strict !== undefined && { strict: options.strict }),
    ...(options.configId !== undefined && { configId: options.configId }),
  };
  try {
    const { warnings } = parseConfigText(text, file, loadOptions);
    for (const w of warnings) out.stderr(`warning: ${formatIssue(w)}\n`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) out.stderr(`error: ${formatIssue(issue)}\n`);
    out.stderr(`${file}: not converted (${err.issues.length} errors)\n`);
    return 1;
  }
  const mapped = readKeepalived(text, file, new IssueList(), loadOptions);
  const yaml = documentToYaml(
    mapped.document,
    mapped.comments,
    `lbctl configuration converted from ${basename(file)}`,
  );
  if (options.output !== undefined) writePrivateFile(options.output, yaml);
  else out.stdout(yaml);
  return 0;
}

export function registerConvertCommand(program: Command, out: CommandOutput = processOutput): void {
  program
    .command('convert')
    .description('convert a keepalived.conf to lbctl YAML, keeping comments')
    .argument('<file>', 'keepalived.conf to convert')
    .option('-o, --output <file>', 'write the YAML here (mode 0600) instead of stdout')
    .option('--strict', 'reject unknown keepalived keywords instead of warning')
    .option(
      '--config-id <id>',
      'keepalived config-id for @id conditional lines (default: short host name)',
    )
    .action((file: string, options: ConvertOptions) => {
      process.exitCode = runConvert(file, options, out);
    });
}
