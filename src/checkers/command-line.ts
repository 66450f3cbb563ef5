import { CheckerConfigError } from './checker-error.js';

/** How to start a configured script: a program with its arguments. */
export interface CommandLine {
  readonly file: string;
  readonly args: readonly string[];
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

const SPACE = /\s/;
const HEX = /[0-9a-fA-F]/;
const OCTAL = /[0-7]/;

/**
 * Splits a script string into words the way keepalived does for every
 * script it runs (alloc_strvec_quoted_escaped): words are separated by
 * white space; "..." and '...' group, and may appear inside a word; a
 * backslash escapes anywhere, also inside quotes (\n \t \xHH \0NNN \cX and
 * friends, any other character stands for itself). There is no shell: `|`,
 * `;`, `$VAR`, `*` and the like are passed to the program as they are.
 */
export function splitCommandLine(command: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = command.length;
  while (i < n) {
    while (i < n && SPACE.test(command[i] as string)) i++;
    if (i >= n) break;
    let word = '';
    let quote: string | undefined;
    for (; i < n; i++) {
      const ch = command[i] as string;
      if (ch === '\\') {
        i++;
        if (i >= n) {
          throw new CheckerConfigError(
            `Cannot run script "${command}": a backslash ends the command`,
          );
        }
        const next = command[i] as string;
        if (next === 'x' && HEX.test(command[i + 1] ?? '')) {
          let digits = '';
          while (digits.length < 2 && HEX.test(command[i + 1] ?? '')) digits += command[++i];
          word += String.fromCharCode(Number.parseInt(digits, 16));
        } else if (next === 'c' && i + 1 < n) {
          word += String.fromCharCode((command.charCodeAt(++i) as number) & 0x1f);
        } else if (OCTAL.test(next)) {
          let digits = next;
          while (digits.length < 3 && OCTAL.test(command[i + 1] ?? '')) digits += command[++i];
          word += String.fromCharCode(Number.parseInt(digits, 8) & 0xff);
        } else {
          word += SIMPLE_ESCAPES[next] ?? next;
        }
      } else if (quote !== undefined) {
        if (ch === quote) quote = undefined;
        else word += ch;
      } else if (ch === '"' || ch === "'") {
        quote = ch;
      } else if (SPACE.test(ch)) {
        break;
      } else {
        word += ch;
      }
    }
    if (quote !== undefined) {
      throw new CheckerConfigError(`Cannot run script "${command}": unterminated ${quote} quote`);
    }
    words.push(word);
  }
  return words;
}

/**
 * Turns a keepalived script string ("/usr/bin/check 'a b' c") into a program
 * and arguments (see splitCommandLine). Scripts never run through a shell,
 * as in keepalived: one that needs shell syntax says so itself, e.g.
 * `/bin/sh -c "test -f /x && exit 1"`.
 */
export function parseCommandLine(command: string): CommandLine {
  const words = splitCommandLine(command);
  if (words.length === 0) throw new CheckerConfigError('Cannot run script: the command is empty');
  const [file, ...args] = words as [string, ...string[]];
  if (file === '') throw new CheckerConfigError(`Cannot run script "${command}": no program named`);
  return { file, args };
}
