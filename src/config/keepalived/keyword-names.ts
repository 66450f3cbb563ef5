import type { BlockSpec, KeywordTable } from './keyword-table.js';
import { CHECKER_BLOCKS, URL } from './keywords/checkers.js';
import { GLOBAL_DEFS } from './keywords/global.js';
import { REAL_SERVER, VIRTUAL_SERVER } from './keywords/virtual-server.js';
import { TRACK_FILE, VRRP_INSTANCE, VRRP_SCRIPT, VRRP_SYNC_GROUP } from './keywords/vrrp.js';
import type { DocPath } from './location-table.js';

/** Fields set by the lines inside list blocks (no keyword table of their own), by keepalived's word. */
const ENTRY_WORDS: Readonly<Record<string, string>> = {
  minTtl: 'min_ttl',
  maxTtl: 'max_ttl',
  virtualServerGroups: 'virtual_server_group',
  vrrpScripts: 'vrrp_script',
  vrrpInstances: 'vrrp_instance',
  vrrpSyncGroups: 'vrrp_sync_group',
  trackFiles: 'track_file',
  virtualServers: 'virtual_server',
  realServers: 'real_server',
  sorryServer: 'sorry_server',
};

/** The block a document path lies in, and the path inside it. */
function blockOf(path: DocPath): { spec: BlockSpec | undefined; rest: DocPath } {
  const [top, i, sub, j, subsub, k, urls, l] = path;
  const at = (spec: BlockSpec | undefined, from: number) => ({ spec, rest: path.slice(from) });
  switch (top) {
    case 'global':
      return at(GLOBAL_DEFS, 1);
    case 'vrrpInstances':
      return at(VRRP_INSTANCE, 2);
    case 'vrrpSyncGroups':
      return at(VRRP_SYNC_GROUP, 2);
    case 'vrrpScripts':
      return at(VRRP_SCRIPT, 2);
    case 'trackFiles':
      return at(TRACK_FILE, 2);
    case 'virtualServers':
      if (sub !== 'realServers' || typeof j !== 'number') return at(VIRTUAL_SERVER, 2);
      if (subsub !== 'checkers' || typeof k !== 'number') return at(REAL_SERVER, 4);
      if (urls === 'urls' && typeof l === 'number') return at(URL, 8);
      return at(undefined, 6);
    default:
      return { spec: undefined, rest: i === undefined ? [] : path.slice(1) };
  }
}

/** Keywords by the document field they set (first keyword wins: the current spelling comes first). */
function byField(table: KeywordTable): Map<string, string> {
  const out = new Map<string, string>();
  for (const [keyword, entry] of Object.entries(table)) {
    for (const field of entry.sets) {
      for (const name of [field, field.split('.').pop() as string])
        if (!out.has(name)) out.set(name, keyword);
    }
  }
  return out;
}

const BLOCKS: readonly BlockSpec[] = [
  GLOBAL_DEFS,
  VRRP_INSTANCE,
  VRRP_SYNC_GROUP,
  VRRP_SCRIPT,
  TRACK_FILE,
  VIRTUAL_SERVER,
  REAL_SERVER,
  ...CHECKER_BLOCKS,
  URL,
];
const FIELDS = new Map(BLOCKS.map((spec) => [spec, byField(spec.table)]));
/** Any block's keyword for a field, for paths whose block is not known (checkers). */
const ANY_FIELD = new Map<string, string>(
  [...FIELDS.values()]
    .flatMap((m) => [...m])
    .reverse()
    .concat(Object.entries(ENTRY_WORDS)),
);

/** The keepalived keyword that sets the value at `path`, if one does. */
export function keywordAt(path: DocPath): string | undefined {
  const { spec, rest } = blockOf(path);
  const fields = spec === undefined ? undefined : FIELDS.get(spec);
  // The longest dotted prefix a keyword sets: notify.master before notify.
  const names = rest.filter((s): s is string => typeof s === 'string');
  if (spec !== undefined && names.length === 1 && spec.header.includes(names[0] as string))
    return spec.keyword;
  for (let n = names.length; n > 0; n--) {
    const field = names.slice(0, n).join('.');
    const keyword = fields !== undefined ? fields.get(field) : ANY_FIELD.get(field);
    if (keyword !== undefined) return keyword;
  }
  return undefined;
}

const FIELD_NAME = /\b[a-z]+(?:[A-Z][a-z0-9]*)+\b/g;

/**
 * A message written with the document's field names (shared by both formats)
 * put in keepalived's words: every camelCase field name becomes the keyword
 * that sets it, preferring the keywords of the block `path` lies in.
 */
export function inKeepalivedWords(message: string, path: DocPath): string {
  const { spec } = blockOf(path);
  const fields = spec === undefined ? undefined : FIELDS.get(spec);
  return message.replace(FIELD_NAME, (name) => fields?.get(name) ?? ANY_FIELD.get(name) ?? name);
}
