import { pathTo } from '../doc-path.js';
import type { Token } from './lexer.js';
import type { DocPath } from './location-table.js';
import { child, type MapContext, type Obj } from './map-context.js';
import type { Statement } from './parser.js';

/** The document object a block's statements fill, where it sits, and how messages name it. */
export interface Block {
  readonly obj: Obj;
  readonly path: DocPath;
  /** e.g. "vrrp_instance VI_1", used in messages about unknown keywords. */
  readonly name: string;
}

/**
 * One keyword of a block, as keepalived's install_keyword registers it: the
 * handler that reads the statement, and the document fields it sets
 * (relative to the block's object, nested ones dotted: "garp.masterDelayMs").
 * `sets` is what the reachability test walks against the schema.
 */
export interface Keyword {
  readonly sets: readonly string[];
  handle(ctx: MapContext, block: Block, stmt: Statement): void;
}

export type KeywordTable = Readonly<Record<string, Keyword>>;

/**
 * A block keyword (install_sublevel): the table of the keywords inside it, the
 * fields its opening line sets, and the document object it maps into.
 */
export interface BlockSpec {
  readonly keyword: string;
  /** Fields set from the opening line (`vrrp_instance NAME`, `real_server ADDR PORT`). */
  readonly header: readonly string[];
  readonly table: KeywordTable;
}

/**
 * Each table as a Map, made on first use: a token's text is a new string,
 * which a property lookup (hasOwn, then the load) first looks up among the
 * interned strings, twice per statement.
 */
const tableMaps = new WeakMap<KeywordTable, Map<string, Keyword>>();

function keywordsOf(table: KeywordTable): Map<string, Keyword> {
  let map = tableMaps.get(table);
  if (map === undefined) {
    map = new Map(Object.entries(table));
    tableMaps.set(table, map);
  }
  return map;
}

/** Maps a block's statements through its table; unknown keywords are warned (or errors when strict). */
export function mapStatements(
  ctx: MapContext,
  table: KeywordTable,
  block: Block,
  statements: readonly Statement[],
): void {
  const keywords = keywordsOf(table);
  for (const stmt of statements) {
    const keyword = keywords.get(stmt.keyword.text);
    if (keyword !== undefined) keyword.handle(ctx, block, stmt);
    else ctx.unknown(stmt, block.name, Object.keys(table));
  }
}

// ---- builders for the common shapes of keywords -------------------------------

/** `keyword VALUE` into `field`, converted by `conv`. */
export const scalar = (field: string, conv?: (tok: Token) => unknown): Keyword => ({
  sets: [field],
  handle: (ctx, b, s) => ctx.scalar(b.obj, field, b.path, s, conv),
});

/** `keyword [on|off]` into a boolean `field`; `value` false for negative keywords (nopreempt). */
export const flag = (field: string, value = true): Keyword => ({
  sets: [field],
  handle: (ctx, b, s) => ctx.flag(b.obj, field, b.path, s, value),
});

/** `keyword "command" [user [group]]` into `field`. */
export const command = (field: string): Keyword => ({
  sets: [field],
  handle: (ctx, b, s) => ctx.command(b.obj, field, b.path, s),
});

/** `user NAME [GROUP]` of vrrp_script and MISC_CHECK. */
export const userAndGroup: Keyword = {
  sets: ['user', 'group'],
  handle: (ctx, b, s) => {
    if (!ctx.needArgs(s, 1, 'a user name')) return;
    const [user, group] = s.args as Token[];
    b.obj.user = (user as Token).text;
    ctx.locate(b.path, 'user', user as Token, s.keyword.text);
    if (group !== undefined) {
      b.obj.group = group.text;
      ctx.locate(b.path, 'group', group, s.keyword.text);
    }
  },
};

/** A block named on its opening line (`vrrp_instance NAME { ... }`). */
export const namedBlockSpec = (keyword: string, table: KeywordTable): BlockSpec => ({
  keyword,
  header: ['name'],
  table,
});

/** The same keyword writing into the child object `key` (garp.*, notify.*). */
export const inChild = (key: string, inner: Keyword): Keyword => ({
  sets: inner.sets.map((f) => `${key}.${f}`),
  handle: (ctx, b, s) =>
    inner.handle(ctx, { obj: child(b.obj, key), path: pathTo(b.path, key), name: b.name }, s),
});

/** A keyword that warns (deprecated spelling, replaced keyword) and then does what `inner` does. */
export const warned = (message: string, inner: Keyword): Keyword => ({
  sets: inner.sets,
  handle: (ctx, b, s) => {
    ctx.issues.warn(s.keyword, message);
    inner.handle(ctx, b, s);
  },
});

/** An old spelling keepalived still reads: warned, then read as `current` is. */
export const renamed = (current: string, inner: Keyword): Keyword => ({
  sets: inner.sets,
  handle: (ctx, b, s) => {
    ctx.issues.warn(s.keyword, `'${s.keyword.text}' is deprecated; use '${current}'`);
    inner.handle(ctx, b, s);
  },
});

/** A keyword lbctl reads and deliberately ignores, saying why. */
export const ignored = (reason: string): Keyword => ({
  sets: [],
  handle: (ctx, _b, s) => ctx.issues.warn(s.keyword, `'${s.keyword.text}' ${reason}; ignored`),
});

/** keepalived knows it, lbctl does not do it: accepted with a warning so configurations still load. */
export const unsupported = ignored('is not supported by lbctl');

/**
 * A keyword lbctl refuses: keepalived would act on it and lbctl cannot, so
 * running without it would silently behave differently.
 */
export const refused = (reason: string): Keyword => ({
  sets: [],
  handle: (ctx, _b, s) =>
    ctx.issues.error(s.keyword, `'${s.keyword.text}' is not supported by lbctl: ${reason}`),
});

/** Merges tables; later ones win, so a block can override a shared entry. */
export const tables = (...parts: KeywordTable[]): KeywordTable => Object.assign({}, ...parts);
