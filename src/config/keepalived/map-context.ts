import { pathTo } from '../doc-path.js';
import type { IssueList, SourcePosition } from '../errors.js';
import { closestKeyword } from './did-you-mean.js';
import type { Token } from './lexer.js';
import { type DocPath, LocationTable, pathKey } from './location-table.js';
import type { Statement } from './parser.js';

export type Obj = Record<string, unknown>;

export interface BlockComments {
  readonly before?: readonly string[];
  readonly after?: string;
}

/** The object at obj[key], created empty when missing. */
export function child(obj: Obj, key: string): Obj {
  const existing = obj[key];
  if (existing !== null && typeof existing === 'object' && !Array.isArray(existing))
    return existing as Obj;
  const created: Obj = {};
  obj[key] = created;
  return created;
}

/** The list at obj[key], created empty when missing. */
export function listIn(obj: Obj, key: string): Obj[] {
  const existing = obj[key];
  if (Array.isArray(existing)) return existing as Obj[];
  const created: Obj[] = [];
  obj[key] = created;
  return created;
}

/** Integers stay numbers; anything else is kept as text so validation reports it in place. */
export const num = (tok: Token): number | string => {
  const text = tok.text;
  const sign = text.charCodeAt(0) === PLUS || text.charCodeAt(0) === MINUS ? 1 : 0;
  return allDigits(text, sign, text.length) ? Number(text) : text;
};

/** keepalived timers are (fractional) seconds; the document uses milliseconds. */
export const secs = (tok: Token): number | string => {
  const text = tok.text;
  const dot = text.indexOf('.');
  const valid =
    dot < 0
      ? allDigits(text, 0, text.length)
      : allDigits(text, 0, dot) && allDigits(text, dot + 1, text.length);
  return valid ? Math.round(Number(text) * 1000) : text;
};

const PLUS = 43;
const MINUS = 45;

/**
 * Whether text[from, to) is one or more ASCII digits (what \d+ matches; a
 * loop, since num and secs run for most values of a large file).
 */
function allDigits(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

export const upper = (tok: Token): string => tok.text.toUpperCase();

/** keepalived's `inet` / `inet6` as the document's family names. */
export const familyName = (text: string): string =>
  text === 'inet6' ? 'ipv6' : text === 'inet' ? 'ipv4' : text;

/**
 * What every keyword handler works with: the issue list, where values came
 * from (when recording), the comments kept for `convert`, and the helpers
 * that read a statement's arguments into the document the way keepalived's
 * own handlers read them.
 */
export class MapContext {
  readonly comments = new Map<string, BlockComments>();
  readonly locations: LocationTable | undefined;
  /** Where document objects were opened, for checks made once the whole file is read. */
  private readonly openedAt = new WeakMap<object, SourcePosition>();

  constructor(
    readonly issues: IssueList,
    readonly strict: boolean,
    recordLocations: boolean,
    mainFile?: string,
  ) {
    // The loader records; `convert` and tests that only want the document do not.
    this.locations = recordLocations ? new LocationTable(mainFile) : undefined;
  }

  /** Records where the value at `path` + `key` came from. */
  locate(path: DocPath, key: string | number, at: SourcePosition, keyword: string): void {
    this.locations?.add(path, key, at, keyword);
  }

  /** Records where the object at `path` came from (its opening statement). */
  remember(path: DocPath, stmt: Statement): void {
    this.locations?.add(path, undefined, stmt.keyword, stmt.keyword.text);
    this.noteComments(path, undefined, stmt);
  }

  /** Notes that `obj` was opened by `stmt` (see openedBy). */
  open(obj: object, stmt: Statement): void {
    this.openedAt.set(obj, stmt.keyword);
  }

  /** The statement position that opened `obj`, if noted. */
  openedBy(obj: object): SourcePosition | undefined {
    return this.openedAt.get(obj);
  }

  noteComments(path: DocPath, key: string | undefined, stmt: Statement): void {
    const before = stmt.keyword.commentsBefore;
    const after = stmt.keyword.commentAfter;
    if ((before && before.length > 0) || after !== undefined) {
      this.comments.set(pathKey(key === undefined ? path : pathTo(path, key)), {
        ...(before && before.length > 0 ? { before } : {}),
        ...(after !== undefined ? { after } : {}),
      });
    }
  }

  /**
   * A keyword the block does not know: warned and skipped as keepalived does
   * (an error when strict), with the closest known keyword as a suggestion.
   */
  unknown(stmt: Statement, where: string, known: Iterable<string>): void {
    const kw = stmt.keyword.text;
    const guess = closestKeyword(kw, known);
    const hint = guess !== undefined ? ` (did you mean '${guess}'?)` : '';
    if (this.strict) this.issues.error(stmt.keyword, `unknown keyword '${kw}' in ${where}${hint}`);
    else this.issues.warn(stmt.keyword, `unknown keyword '${kw}' in ${where}${hint}; ignored`);
  }

  needArgs(stmt: Statement, count: number, what: string): boolean {
    if (stmt.args.length >= count) return true;
    this.issues.error(stmt.keyword, `'${stmt.keyword.text}' needs ${what}`);
    return false;
  }

  noBlock(stmt: Statement): boolean {
    if (!stmt.block) return true;
    this.issues.error(stmt.keyword, `'${stmt.keyword.text}' does not take a block`);
    return false;
  }

  needBlock(stmt: Statement): readonly Statement[] | undefined {
    if (stmt.block) return stmt.block;
    this.issues.error(stmt.keyword, `'${stmt.keyword.text}' needs a { ... } block`);
    return undefined;
  }

  boolArg(stmt: Statement): boolean | undefined {
    const arg = stmt.args[0];
    if (arg === undefined) return true;
    const t = arg.text.toLowerCase();
    if (t === 'on' || t === 'true' || t === 'yes') return true;
    if (t === 'off' || t === 'false' || t === 'no') return false;
    this.issues.error(arg, `'${stmt.keyword.text}' expects on|off|true|false|yes|no`);
    return undefined;
  }

  /** Sets obj[key] from the statement's first argument converted by `conv`. */
  scalar(
    obj: Obj,
    key: string,
    path: DocPath,
    stmt: Statement,
    conv: (tok: Token) => unknown = (t) => t.text,
  ): void {
    if (!this.noBlock(stmt) || !this.needArgs(stmt, 1, 'a value')) return;
    const arg = stmt.args[0] as Token;
    obj[key] = conv(arg);
    this.locate(path, key, arg, stmt.keyword.text);
    this.noteComments(path, key, stmt);
    if (stmt.args.length > 1) {
      this.issues.warn(
        stmt.args[1] as Token,
        `extra arguments after '${stmt.keyword.text} ${arg.text}' ignored`,
      );
    }
  }

  /** A boolean keyword: bare means true; `value` false inverts it (nopreempt). */
  flag(obj: Obj, key: string, path: DocPath, stmt: Statement, value = true): void {
    if (!this.noBlock(stmt)) return;
    const b = stmt.args.length > 0 ? this.boolArg(stmt) : true;
    if (b === undefined) return;
    obj[key] = b === value;
    this.locate(path, key, stmt.keyword, stmt.keyword.text);
    this.noteComments(path, key, stmt);
  }

  /**
   * `script [user [group]]`: a quoted command may be followed by user and group.
   * Unquoted words are read as one command line (older keepalived behaviour);
   * keepalived 2 reads them as user/group, so this is warned about.
   */
  command(obj: Obj, key: string, path: DocPath, stmt: Statement): void {
    if (!this.noBlock(stmt) || !this.needArgs(stmt, 1, 'a script')) return;
    const [first, ...rest] = stmt.args as Token[];
    const value: Obj = {};
    if ((first as Token).quoted) {
      value.command = (first as Token).text;
      if (rest[0]) value.user = rest[0].text;
      if (rest[1]) value.group = rest[1].text;
    } else {
      value.command = stmt.args.map((t) => t.text).join(' ');
      if (rest.length > 0) {
        this.issues.warn(
          stmt.keyword,
          `'${stmt.keyword.text}' with unquoted arguments is read as one command line; quote it ("...") and put any user/group after the quotes`,
        );
      }
    }
    obj[key] = value;
    this.locate(path, key, first as Token, stmt.keyword.text);
    this.noteComments(path, key, stmt);
    this.locate(pathTo(path, key), 'command', first as Token, stmt.keyword.text);
  }

  /**
   * Reads the lines of a list block (`virtual_ipaddress { ... }`), each into
   * one entry at `path`[start + i], remembered at its line.
   */
  entries(
    stmt: Statement,
    path: DocPath,
    start: number,
    read: (line: Statement, at: DocPath) => Obj,
  ): Obj[] {
    const out: Obj[] = [];
    for (const line of this.needBlock(stmt) ?? []) {
      const at = pathTo(path, start + out.length);
      this.remember(at, line);
      out.push(read(line, at));
    }
    return out;
  }

  /**
   * Forgets item `index` of the list at `list` (dropped once the whole file
   * is read): its positions and comments go, those of later items move up.
   */
  removeListItem(list: DocPath, index: number): void {
    this.locations?.removeListItem(list, index);
    const prefix = pathKey(list);
    const moved: [string, BlockComments][] = [];
    for (const [key, comments] of this.comments) {
      if (!key.startsWith(`${prefix}\u0000`)) continue;
      const [item, ...rest] = key.slice(prefix.length + 1).split('\u0000');
      const n = Number(item);
      if (!Number.isInteger(n) || n < index) continue;
      this.comments.delete(key);
      if (n > index) moved.push([pathKey([...list, n - 1, ...rest]), comments]);
    }
    for (const [key, comments] of moved) this.comments.set(key, comments);
  }

  /** Appends a block's entries to obj[key] (keepalived adds up repeated list blocks). */
  appendList(
    obj: Obj,
    path: DocPath,
    key: string,
    stmt: Statement,
    entries: (stmt: Statement, path: DocPath, start: number) => Obj[],
  ): void {
    const listPath = pathTo(path, key);
    const existing = (obj[key] as Obj[] | undefined) ?? [];
    obj[key] = [...existing, ...entries(stmt, listPath, existing.length)];
    this.remember(listPath, stmt);
  }
}
