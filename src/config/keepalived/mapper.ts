import type { IssueList } from '../errors.js';
import { defaultMissingProtocol } from './default-protocol.js';
import {
  type Block,
  type BlockSpec,
  type Keyword,
  type KeywordTable,
  mapStatements,
  refused,
  renamed,
  unsupported,
} from './keyword-table.js';
import { CHECKER_BLOCKS, URL } from './keywords/checkers.js';
import { GLOBAL_DEFS } from './keywords/global.js';
import { REAL_SERVER, VIRTUAL_SERVER } from './keywords/virtual-server.js';
import { VIRTUAL_SERVER_GROUP } from './keywords/virtual-server-group.js';
import { TRACK_FILE, VRRP_INSTANCE, VRRP_SCRIPT, VRRP_SYNC_GROUP } from './keywords/vrrp.js';
import type { LocationTable } from './location-table.js';
import { type BlockComments, child, listIn, MapContext, num, type Obj } from './map-context.js';
import type { Statement } from './parser.js';
import { removeUnusable } from './unusable-blocks.js';

export type { DocPath, Located } from './location-table.js';
export { pathKey } from './location-table.js';
export type { BlockComments } from './map-context.js';

export interface MappedDocument {
  /** The configuration in the YAML document shape, still unvalidated. */
  readonly document: Obj;
  /** Where each value came from; only when asked for (see createKeepalivedMapper). */
  readonly locations: LocationTable | undefined;
  readonly comments: ReadonlyMap<string, BlockComments>;
}

/** Builds the configuration document from top-level statements, fed one at a time. */
export interface KeepalivedMapper {
  /** Maps one top-level statement into the document. */
  map(stmt: Statement): void;
  /** The document, once every statement is mapped. */
  result(): MappedDocument;
}

/** A top-level `KEYWORD NAME { ... }` block appended to the document list `listKey`. */
const namedBlock = (listKey: string, spec: BlockSpec): Keyword => ({
  sets: [listKey],
  handle: (ctx, doc, stmt) => {
    if (!ctx.needArgs(stmt, 1, 'a name')) return;
    const list = listIn(doc.obj, listKey);
    const path = [listKey, list.length];
    const name = (stmt.args[0] as { text: string }).text;
    const obj: Obj = { name };
    ctx.remember(path, stmt);
    ctx.open(obj, stmt);
    ctx.locate(path, 'name', stmt.args[0] as Statement['keyword'], stmt.keyword.text);
    mapStatements(
      ctx,
      spec.table,
      { obj, path, name: `${spec.keyword} ${name}` },
      ctx.needBlock(stmt) ?? [],
    );
    list.push(obj);
  },
});

const globalDefs: Keyword = {
  sets: ['global'],
  handle: (ctx, doc, stmt) => {
    const path = ['global'];
    ctx.remember(path, stmt);
    const block: Block = { obj: child(doc.obj, 'global'), path, name: 'global_defs' };
    mapStatements(ctx, GLOBAL_DEFS.table, block, ctx.needBlock(stmt) ?? []);
  },
};

const virtualServer: Keyword = {
  sets: ['virtualServers'],
  handle: (ctx, doc, stmt) => {
    const servers = listIn(doc.obj, 'virtualServers');
    const path = ['virtualServers', servers.length];
    const obj: Obj = {};
    ctx.remember(path, stmt);
    ctx.open(obj, stmt);
    const [a0, a1] = stmt.args;
    let name = 'virtual_server';
    if (!a0) {
      ctx.issues.error(
        stmt.keyword,
        "'virtual_server' needs <address> <port>, fwmark <n> or group <name>",
      );
    } else if (a0.text === 'fwmark' || a0.text === 'group') {
      if (!a1) ctx.issues.error(a0, `'${a0.text}' needs a value`);
      else {
        const key = a0.text;
        obj[key] = key === 'fwmark' ? num(a1) : a1.text;
        ctx.locate(path, key, a1, `virtual_server ${key}`);
        name = `virtual_server ${key} ${a1.text}`;
      }
    } else {
      obj.address = a0.text;
      ctx.locate(path, 'address', a0, 'virtual_server');
      name = `virtual_server ${a0.text}`;
      if (a1) {
        obj.port = num(a1);
        ctx.locate(path, 'port', a1, 'virtual_server');
        name += ` ${a1.text}`;
      }
    }
    mapStatements(ctx, VIRTUAL_SERVER.table, { obj, path, name }, ctx.needBlock(stmt) ?? []);
    obj.realServers ??= [];
    servers.push(obj);
  },
};

const ssl: Keyword = {
  sets: ['ssl'],
  handle: (ctx, doc, stmt) => {
    const obj: Obj = {};
    ctx.remember(['ssl'], stmt);
    mapStatements(
      ctx,
      SSL_KEYWORDS,
      { obj, path: ['ssl'], name: 'SSL' },
      ctx.needBlock(stmt) ?? [],
    );
    doc.obj.ssl = obj;
  },
};

const SSL_KEYWORDS: KeywordTable = {
  password: { sets: ['password'], handle: (ctx, b, s) => ctx.scalar(b.obj, 'password', b.path, s) },
  ca: { sets: ['ca'], handle: (ctx, b, s) => ctx.scalar(b.obj, 'ca', b.path, s) },
  certificate: {
    sets: ['certificate'],
    handle: (ctx, b, s) => ctx.scalar(b.obj, 'certificate', b.path, s),
  },
  key: { sets: ['key'], handle: (ctx, b, s) => ctx.scalar(b.obj, 'key', b.path, s) },
};

const trackFile = namedBlock('trackFiles', TRACK_FILE);

/** The top level of keepalived.conf: one entry per block keyword (install_sublevel). */
export const TOP_LEVEL_KEYWORDS: KeywordTable = {
  global_defs: globalDefs,
  vrrp_script: namedBlock('vrrpScripts', VRRP_SCRIPT),
  track_file: trackFile,
  vrrp_track_file: renamed('track_file', trackFile),
  vrrp_sync_group: namedBlock('vrrpSyncGroups', VRRP_SYNC_GROUP),
  vrrp_instance: namedBlock('vrrpInstances', VRRP_INSTANCE),
  virtual_server_group: VIRTUAL_SERVER_GROUP,
  virtual_server: virtualServer,
  SSL: ssl,
  vrrp_track_process: refused(
    'process tracking is not implemented; track the process with a vrrp_script (e.g. "pidof NAME") instead',
  ),
  net_namespace: refused(
    'lbctl runs in the network namespace it is started in; start it there (nsenter --net=/var/run/netns/NAME lbctl up ...)',
  ),
  static_ipaddress: unsupported,
  static_routes: unsupported,
  static_rules: unsupported,
  linkbeat_interfaces: unsupported,
  garp_group: unsupported,
  bfd_instance: unsupported,
};

/** Every block with a keyword table, for the test that walks them against the schema. */
export const KEYWORD_BLOCKS: readonly BlockSpec[] = [
  GLOBAL_DEFS,
  VRRP_SCRIPT,
  TRACK_FILE,
  VRRP_SYNC_GROUP,
  VRRP_INSTANCE,
  VIRTUAL_SERVER,
  REAL_SERVER,
  ...CHECKER_BLOCKS,
  URL,
  { keyword: 'SSL', header: [], table: SSL_KEYWORDS },
];

/**
 * Maps keepalived statements to the configuration document (YAML shape)
 * through the keyword tables, remembering (when `recordLocations`) where every
 * value came from so validation errors point at keepalived lines. Unknown
 * keywords are warned and skipped (errors when strict), as keepalived does.
 */
export function createKeepalivedMapper(
  issues: IssueList,
  strict: boolean,
  recordLocations = false,
  mainFile?: string,
): KeepalivedMapper {
  return new DocumentMapper(new MapContext(issues, strict, recordLocations, mainFile));
}

/**
 * A class rather than closures made per load: code optimized on one load's
 * closure would be thrown away on the next load's (a call target is a function
 * object), and the daemon loads again at every reload.
 */
class DocumentMapper implements KeepalivedMapper {
  private readonly doc: Obj = {};
  private readonly top: Block = { obj: this.doc, path: [], name: 'the top level' };

  constructor(private readonly ctx: MapContext) {}

  map(stmt: Statement): void {
    mapStatements(this.ctx, TOP_LEVEL_KEYWORDS, this.top, [stmt]);
  }

  result(): MappedDocument {
    removeUnusable(this.ctx, this.doc);
    defaultMissingProtocol(this.ctx, this.doc);
    return { document: this.doc, locations: this.ctx.locations, comments: this.ctx.comments };
  }
}
