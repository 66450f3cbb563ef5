import { CheckerConfigError } from './checker-error.js';

/** How to start a configured script: a program with its arguments. */
export interface CommandLine {
  readonly file: string;
  readonly args: readonly string[];
}

// Anything here only means something to a shell, so such strings go to /bin/sh.
const SHELL_SYNTAX = /[|&;<>()$`\\*?[\]{}~!#\n]/;

/**
 * Turns a keepalived script string ("/usr/bin/check 'a b' c") into a program
 * and arguments. Plain words and quoted words run directly, without a shell;
 * strings using shell syntax (pipes, redirections, variables, globs) run
 * under `/bin/sh -c`.
 */
export function parseCommandLine(command: string): CommandLine {
  const text = command.trim();
  if (text === '') throw new CheckerConfigError('Cannot run script: the command is empty');
  if (SHELL_SYNTAX.test(text)) return { file: '/bin/sh', args: ['-c', text] };

  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) {
    throw new CheckerConfigError(`Cannot run script "${command}": unterminated ${quote} quote`);
  }
  if (inWord) words.push(current);
  const [file, ...args] = words;
  if (file === undefined || file === '') {
    throw new CheckerConfigError(`Cannot run script "${command}": no program named`);
  }
  return { file, args };
}
