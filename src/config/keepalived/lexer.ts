import { realpathSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, relative } from 'node:path';
import { describeErrno, describeFileType, ReadBudget, type ReadLimits } from '../config-file.js';
import type { IssueList, SourcePosition } from '../errors.js';
import { expandGlob, GlobLimitError, hasWildcard } from './glob.js';

/** A word of keepalived.conf (braces are handed on as positions only, see TokenSink). */
export interface Token extends SourcePosition {
  readonly text: string;
  readonly quoted: boolean;
  /** Comment lines right above the line this token starts (first token of a line only). */
  commentsBefore: string[] | undefined;
  /** Comment at the end of this token's line (first token of a line only). */
  commentAfter: string | undefined;
}

/**
 * Where the lexer's output goes, in file order: each word, each brace (its
 * position only: no object per brace) and the end of every line that had any.
 */
export interface TokenSink {
  word(tok: Token): void;
  open(file: string, line: number, column: number): void;
  close(file: string, line: number, column: number): void;
  lineEnd(): void;
}

export interface LexOptions {
  /** keepalived's config-id for `@id` lines; defaults to the short host name. */
  readonly configId?: string;
  /** Include depth guard against runaway recursion. */
  readonly maxIncludeDepth?: number;
  /** Bytes and files one load may read (main file and includes). */
  readonly readLimits?: ReadLimits;
}

const INCLUDE_KEYWORDS = new Set([
  'include',
  'includer',
  'includem',
  'includew',
  'includeb',
  'includea',
]);
const DEFINITION = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const MAX_SUBSTITUTION_DEPTH = 32;
/** No line may grow past this by substitution (keepalived's own line buffer is far smaller). */
export const MAX_EXPANDED_LINE = 64 * 1024;
/**
 * Text substitution may add in total: a fixed allowance plus a multiple of
 * the input, so definitions that multiply at each level (a 600-byte file
 * expanding to gigabytes) stop at a size proportional to what was read.
 */
const EXPANSION_ALLOWANCE = 1024 * 1024;
const EXPANSION_FACTOR = 16;
const NON_SPACE = /\S/;

interface Definition {
  readonly lines: readonly string[];
}

/** A logical source line: its text and where it came from. */
interface SourceLine {
  readonly text: string;
  readonly file: string;
  readonly line: number;
  /** Column of text[0] in the original line (1-based). */
  readonly column: number;
}

/**
 * Turns keepalived.conf text (and everything it includes) into tokens: words
 * and braces, each with file, line and column, and the end of each line.
 * Handles comments, quoting, `@id` conditional lines, `$NAME=value`
 * definitions and substitution, and `include` with globs relative to the
 * including file. Tokens go to `sink` as they are read.
 */
export class KeepalivedLexer {
  private readonly definitions = new Map<string, Definition>();
  private readonly configId: string;
  private readonly maxIncludeDepth: number;
  private pendingComments: string[] = [];
  /** The last word of the last line read, when the line ended with a word. */
  private lastToken: Token | undefined;
  private readonly budget: ReadBudget;
  /** Characters read, and characters substitution produced, in this load. */
  private inputChars = 0;
  private expandedChars = 0;
  private expansionExhausted = false;

  constructor(
    private readonly issues: IssueList,
    options: LexOptions,
    private readonly sink: TokenSink,
  ) {
    this.configId = options.configId ?? hostname().split('.')[0] ?? '';
    this.maxIncludeDepth = options.maxIncludeDepth ?? 32;
    this.budget = new ReadBudget(options.readLimits);
  }

  /** Lexes `text` as the content of `file` (used for the main file and for includes). */
  lexText(text: string, file: string, includeStack: readonly string[] = []): void {
    this.inputChars += text.length;
    if (includeStack.length === 0) {
      // The main file (includes are counted as they are read).
      const over = this.budget.account(Buffer.byteLength(text));
      if (over !== undefined) {
        this.issues.error({ file, line: 1, column: 1 }, `Cannot read configuration: ${over}`);
        return;
      }
    }
    this.lexLines(text, file, includeStack);
  }

  /**
   * The lines of `text`. Apart from lexText, which runs once per file: code
   * optimized inside this loop (on-stack) would be thrown away at the next
   * load's first call for the budget check above, which it has no feedback for.
   */
  private lexLines(text: string, file: string, includeStack: readonly string[]): void {
    // Lines are taken one at a time rather than split up front (large files
    // have 100,000s of lines), and a plain line is tokenized where it stands.
    let offset = 0;
    let lineNo = 0;
    const nextLine = (): string | undefined => {
      if (offset > text.length) return undefined;
      const newline = text.indexOf('\n', offset);
      const end = newline < 0 ? text.length : newline;
      const line = text.slice(
        offset,
        end > offset && text.charCodeAt(end - 1) === 13 ? end - 1 : end,
      );
      offset = end + 1;
      lineNo++;
      return line;
    };
    while (offset <= text.length) {
      const newline = text.indexOf('\n', offset);
      const next = newline < 0 ? text.length + 1 : newline + 1;
      let end = next - 1;
      if (end > offset && text.charCodeAt(end - 1) === 13) end--;
      const kind = lineKind(text, offset, end);
      if (kind !== SPECIAL_LINE) {
        lineNo++;
        if (kind === PLAIN_LINE) this.tokenizeLine(text, offset, end, file, lineNo, 1, undefined);
        offset = next;
        continue;
      }
      let lineText = nextLine() as string;
      const def = lineText.includes('$') ? DEFINITION.exec(stripComment(lineText).code) : null;
      // Multi-line definitions: "$NAME= \" then lines ending in "\" up to the last one.
      if (def && (def[2] ?? '').trimEnd().endsWith('\\')) {
        const lines: string[] = [];
        const first = (def[2] ?? '').trimEnd().slice(0, -1).trim();
        if (first !== '') lines.push(first);
        for (let next = nextLine(); next !== undefined; next = nextLine()) {
          const body = stripComment(next).code.trimEnd();
          if (body.endsWith('\\')) lines.push(body.slice(0, -1));
          else {
            lines.push(body);
            break;
          }
        }
        this.definitions.set(def[1] as string, { lines });
        continue;
      }
      if (lineText.includes('\t')) lineText = lineText.replace(/\t/g, ' ');
      this.processLine({ text: lineText, file, line: lineNo, column: 1 }, includeStack, 0);
    }
    this.pendingComments = [];
  }

  private processLine(src: SourceLine, includeStack: readonly string[], depth: number): void {
    const { code, comment } = stripComment(src.text);
    let text = code;
    let column = src.column;
    if (!NON_SPACE.test(text)) {
      if (comment !== undefined && depth === 0) this.pendingComments.push(comment);
      return;
    }

    // Conditional line: "@id rest" is kept only on the node whose config-id is id; "@^id" negates.
    const cond = text.includes('@') ? /^(\s*)@(\^?)(\S+)/.exec(text) : null;
    if (cond) {
      const negate = cond[2] === '^';
      const matches = cond[3] === this.configId;
      if (matches === negate) return;
      column += cond[0].length;
      text = text.slice(cond[0].length);
      if (!NON_SPACE.test(text)) return;
    }

    const def = text.includes('$') ? DEFINITION.exec(text) : null;
    if (def) {
      this.definitions.set(def[1] as string, { lines: [def[2] ?? ''] });
      return;
    }

    if (text.includes('~SEQ')) {
      this.issues.error(
        { file: src.file, line: src.line, column },
        '~SEQ sequence blocks are not supported; write the lines out or use YAML',
      );
      return;
    }

    const substituted = text.includes('$')
      ? this.substitute(text, src, column + text.indexOf('$'))
      : [text];
    if (substituted === undefined) return;
    if (substituted.length !== 1 || substituted[0] !== text) {
      if (depth > MAX_SUBSTITUTION_DEPTH) {
        this.issues.error(
          { file: src.file, line: src.line, column },
          'parameter substitution nests too deeply (is a definition recursive?)',
        );
        return;
      }
      for (const line of substituted) {
        this.processLine(
          { text: line, file: src.file, line: src.line, column },
          includeStack,
          depth + 1,
        );
      }
      if (comment !== undefined) this.attachTrailingComment(comment);
      return;
    }

    const words = text.includes('include') ? /^\s*(\S+)\s*(.*)$/.exec(text) : null;
    if (words && INCLUDE_KEYWORDS.has(words[1] as string)) {
      const at = {
        file: src.file,
        line: src.line,
        column: column + text.indexOf(words[1] as string),
      };
      this.include(unquote((words[2] ?? '').trim()), at, includeStack);
      return;
    }

    this.tokenizeLine(text, 0, text.length, src.file, src.line, column, comment);
  }

  /**
   * Hands on the tokens of text[start, end) (one line, not blank, whose first
   * character is at `column`), the comments above it going with its first token.
   */
  private tokenizeLine(
    text: string,
    start: number,
    end: number,
    file: string,
    line: number,
    column: number,
    commentAfter: string | undefined,
  ): void {
    const before = this.pendingComments;
    if (before.length > 0) this.pendingComments = [];
    const last = this.tokenize(
      text,
      start,
      end,
      file,
      line,
      column,
      before.length > 0 ? before : undefined,
      commentAfter,
    );
    if (last === NO_TOKEN) return;
    this.lastToken = last === BRACE ? undefined : last;
    this.sink.lineEnd();
  }

  private attachTrailingComment(comment: string): void {
    const last = this.lastToken;
    if (last && last.commentAfter === undefined) last.commentAfter = comment;
  }

  /** Replaces $NAME (followed by space or end) and ${NAME}; undefined names stay as written. */
  private substitute(text: string, src: SourceLine, column: number): string[] | undefined {
    let result = text;
    for (let round = 0; round < MAX_SUBSTITUTION_DEPTH; round++) {
      let multi: string[] | undefined;
      const next = result.replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/g,
        (whole, braced, bare) => {
          const name = (braced ?? bare) as string;
          const predefined = this.predefined(name, src.file);
          if (predefined !== undefined) return predefined;
          const def = this.definitions.get(name);
          if (!def) return whole;
          if (def.lines.length > 1) multi = [...def.lines];
          return def.lines.join('\n');
        },
      );
      if (next === result) return [result];
      if (next.length > MAX_EXPANDED_LINE) {
        this.issues.error(
          { file: src.file, line: src.line, column },
          `parameter substitution makes this line longer than ${MAX_EXPANDED_LINE} characters (do definitions multiply each other?)`,
        );
        return undefined;
      }
      if (!this.chargeExpansion(next.length, src, column)) return undefined;
      if (multi !== undefined || next.includes('\n')) return next.split('\n');
      result = next;
    }
    this.issues.error(
      { file: src.file, line: src.line, column },
      'parameter substitution nests too deeply (is a definition recursive?)',
    );
    return undefined;
  }

  /** Counts substituted text against the load's expansion budget; false once it is spent. */
  private chargeExpansion(chars: number, src: SourceLine, column: number): boolean {
    if (this.expansionExhausted) return false;
    this.expandedChars += chars;
    const limit = EXPANSION_ALLOWANCE + EXPANSION_FACTOR * this.inputChars;
    if (this.expandedChars <= limit) return true;
    this.expansionExhausted = true;
    this.issues.error(
      { file: src.file, line: src.line, column },
      `parameter substitution expands the configuration past ${limit} characters (do definitions multiply each other?)`,
    );
    return false;
  }

  private predefined(name: string, file: string): string | undefined {
    switch (name) {
      case '_PWD':
        return dirname(file);
      case '_INSTANCE':
        return this.configId;
      case '_HASH':
        return '#';
      case '_BANG':
        return '!';
      default:
        return undefined;
    }
  }

  private include(pattern: string, at: SourcePosition, includeStack: readonly string[]): void {
    if (pattern === '') {
      this.issues.error(at, 'include needs a file name or pattern');
      return;
    }
    if (includeStack.length >= this.maxIncludeDepth) {
      this.issues.error(at, `includes nest deeper than ${this.maxIncludeDepth} levels`);
      return;
    }
    let matches: string[];
    try {
      matches = expandGlob(pattern, dirname(at.file));
    } catch (err) {
      if (!(err instanceof GlobLimitError)) throw err;
      this.issues.error(at, `Cannot include '${pattern}': ${err.message}`);
      return;
    }
    const wildcard = hasWildcard(pattern);
    if (matches.length === 0) {
      if (wildcard) this.issues.warn(at, `include pattern '${pattern}' matches no files`);
      else this.issues.error(at, `Cannot include '${pattern}': no such file`);
      return;
    }
    // Only regular files are read; a glob may pass over directories. Anything
    // else (devices, pipes, sockets) refuses the whole include before reading.
    const files: string[] = [];
    const refused: string[] = [];
    for (const path of matches) {
      try {
        const stats = statSync(path);
        if (stats.isFile()) files.push(path);
        else if (!(wildcard && stats.isDirectory()))
          refused.push(`${path} is ${describeFileType(stats)}`);
      } catch (err) {
        this.issues.error(
          at,
          `Cannot include '${path}': ${describeErrno((err as NodeJS.ErrnoException).code)}`,
        );
      }
    }
    if (refused.length > 0) {
      const more = refused.length > 3 ? ` and ${refused.length - 3} more` : '';
      this.issues.error(
        at,
        `Cannot include '${pattern}': only regular files can be included (${refused.slice(0, 3).join(', ')}${more})`,
      );
      return;
    }
    for (const path of files) {
      let real: string;
      try {
        real = realpathSync(path);
      } catch (err) {
        this.issues.error(
          at,
          `Cannot include '${path}': ${describeErrno((err as NodeJS.ErrnoException).code)}`,
        );
        continue;
      }
      const stack = includeStack.length === 0 ? [safeRealpath(at.file)] : includeStack;
      if (stack.includes(real)) {
        const cycle = [...stack.slice(stack.indexOf(real)), real]
          .map((p) => displayPath(p))
          .join(' → ');
        this.issues.error(at, `include cycle: ${cycle}`);
        continue;
      }
      const read = this.budget.read(path);
      if ('error' in read) {
        this.issues.error(at, `Cannot include '${path}': ${read.error}`);
        // Past a limit every further include would fail the same way.
        if (read.limit) return;
        continue;
      }
      this.lexText(read.text, path, [...stack, real]);
    }
  }

  /**
   * Hands on the tokens of text[start, end), the first carrying the line's
   * comments; returns the last word, BRACE when a brace came last, or NO_TOKEN.
   */
  private tokenize(
    text: string,
    start: number,
    end: number,
    file: string,
    line: number,
    column: number,
    before: string[] | undefined,
    after: string | undefined,
  ): Token | typeof BRACE | typeof NO_TOKEN {
    let first = true;
    let last: Token | typeof BRACE | typeof NO_TOKEN = NO_TOKEN;
    let i = start;
    while (i < end) {
      const code = text.charCodeAt(i);
      if (code <= 32 || (code > 127 && /\s/.test(text.charAt(i)))) {
        // Any Unicode space (configs pasted from web pages carry no-break spaces).
        i++;
        continue;
      }
      const at = column + (i - start);
      if (code === OPEN_BRACE || code === CLOSE_BRACE) {
        // A brace takes the line's comments with it (the parser keeps none for braces).
        first = false;
        if (code === OPEN_BRACE) this.sink.open(file, line, at);
        else this.sink.close(file, line, at);
        last = BRACE;
        i++;
        continue;
      }
      let word: string;
      const quoted = code === DOUBLE_QUOTE || code === SINGLE_QUOTE;
      if (quoted) {
        const close = text.indexOf(text.charAt(i), i + 1);
        if (close < 0 || close >= end) {
          this.issues.error({ file, line, column: at }, 'unterminated quoted string');
          word = text.slice(i + 1, end);
          i = end;
        } else {
          word = text.slice(i + 1, close);
          i = close + 1;
        }
      } else {
        let j = i + 1;
        while (j < end && !isWordEnd(text.charCodeAt(j))) j++;
        word = text.slice(i, j);
        i = j;
      }
      // One shape for every token (comment fields always present): the parser and mapper stay monomorphic.
      const tok: Token = {
        text: word,
        file,
        line,
        column: at,
        quoted,
        commentsBefore: first ? before : undefined,
        commentAfter: first ? after : undefined,
      };
      first = false;
      this.sink.word(tok);
      last = tok;
    }
    return last;
  }
}

/** What tokenize returns when a line ended with a brace, or had no token. */
const BRACE = 1;
const NO_TOKEN = 0;

/** lineKind's answers: nothing to read, a line tokenize can take as it stands, or anything else. */
const BLANK_LINE = 0;
const PLAIN_LINE = 1;
const SPECIAL_LINE = 2;

/**
 * Whether text[start, end) needs more than tokenizing: comments (`#`, `!`),
 * definitions and substitution (`$`), conditions (`@`), `~SEQ`, includes,
 * tabs inside quotes, non-ASCII. Blank is what processLine's \S test finds
 * blank; control characters are not blank there but tokenize skips them.
 */
function lineKind(text: string, start: number, end: number): number {
  let blank = true;
  let quote = false;
  let tab = false;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 32) continue;
    if (code > 126 || code === 36 || code === 64 || code === 35 || code === 33 || code === 126)
      return SPECIAL_LINE;
    if (code === 9) tab = true;
    else if (code === DOUBLE_QUOTE || code === SINGLE_QUOTE) quote = true;
    if (code >= 9 && code <= 13) continue;
    // The first word: an include is read by processLine.
    if (blank && code === 105 && text.startsWith('include', i)) return SPECIAL_LINE;
    blank = false;
  }
  if (tab && quote) return SPECIAL_LINE;
  return blank ? BLANK_LINE : PLAIN_LINE;
}

const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;

/** Whitespace, braces and quotes end an unquoted word. */
function isWordEnd(code: number): boolean {
  return (
    code <= 32 ||
    code === 123 ||
    code === 125 ||
    code === 34 ||
    code === 39 ||
    (code > 127 && /\s/.test(String.fromCharCode(code)))
  );
}

/** Splits a line at its first `#` or `!` outside quotes. */
export function stripComment(line: string): { code: string; comment?: string } {
  if (!line.includes('#') && !line.includes('!')) return { code: line };
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#' || ch === '!') {
      return {
        code: line.slice(0, i),
        comment: line
          .slice(i + 1)
          .replace(/^[#!]*/, '')
          .trim(),
      };
    }
  }
  return { code: line };
}

function unquote(text: string): string {
  const m = /^"(.*)"$|^'(.*)'$/.exec(text);
  return m ? (m[1] ?? m[2] ?? '') : text;
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}
