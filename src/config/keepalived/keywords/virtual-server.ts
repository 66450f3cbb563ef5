import { pathTo } from '../../doc-path.js';
import {
  type BlockSpec,
  command,
  flag,
  type Keyword,
  type KeywordTable,
  mapStatements,
  renamed,
  scalar,
  tables,
  unsupported,
} from '../keyword-table.js';
import type { Token } from '../lexer.js';
import { child, familyName, listIn, type MapContext, num, type Obj, secs } from '../map-context.js';
import { CHECKER_KEYWORDS, TIMING_KEYWORDS } from './checkers.js';

const TUNNEL_TYPE_NAMES = ['ipip', 'gue', 'gre'];
const TUNNEL_CHECKSUM_NAMES = ['nocsum', 'csum', 'remcsum'];

/**
 * The options after `lvs_method TUN` as keepalived 2.2.7 reads them
 * (svr_forwarding_handler): `type ipip|gue|gre`, `port N` (GUE), and one of
 * `nocsum|csum|remcsum`. Which combinations are allowed is checked with the
 * rest of the virtual server (tunnelProblem), for YAML too.
 */
function tunnelOptions(
  ctx: MapContext,
  options: readonly Token[],
  path: readonly (string | number)[],
): Obj | undefined {
  const tunnel: Obj = {};
  for (let i = 0; i < options.length; i++) {
    const option = options[i] as Token;
    const word = option.text.toLowerCase();
    const value = options[i + 1];
    if (word === 'type' || word === 'port') {
      if (value === undefined) {
        ctx.issues.error(option, `tunnel option '${word}' needs a value`);
        return undefined;
      }
      i++;
      ctx.locate(path, word, value, `tunnel ${word}`);
      if (word === 'port') {
        tunnel.port = num(value);
        continue;
      }
      const type = value.text.toLowerCase();
      if (!TUNNEL_TYPE_NAMES.includes(type)) {
        ctx.issues.error(
          value,
          `unknown tunnel type '${value.text}' (expected ${TUNNEL_TYPE_NAMES.join(', ')})`,
        );
        return undefined;
      }
      tunnel.type = type;
    } else if (TUNNEL_CHECKSUM_NAMES.includes(word)) {
      tunnel.checksum = word;
      ctx.locate(path, 'checksum', option, 'tunnel checksum');
    } else {
      ctx.issues.error(
        option,
        `unknown tunnel option '${option.text}' (expected type, port, ${TUNNEL_CHECKSUM_NAMES.join(', ')})`,
      );
      return undefined;
    }
  }
  return tunnel;
}

/** lvs_method (lb_kind): NAT|DR|TUN, TUN with its tunnel options. */
const lvsMethod = (field: string): Keyword => ({
  sets: [field, 'tunnel'],
  handle: (ctx, b, s) => {
    ctx.scalar(b.obj, field, b.path, { keyword: s.keyword, args: s.args.slice(0, 1) }, (t) =>
      t.text.toUpperCase(),
    );
    const options = s.args.slice(1);
    if (options.length === 0) return;
    if (b.obj[field] !== 'TUN') {
      ctx.issues.warn(
        options[0] as Token,
        `tunnel options apply to lvs_method TUN only; ignored after ${String(b.obj[field])}`,
      );
      return;
    }
    const tunnel = tunnelOptions(ctx, options, pathTo(b.path, 'tunnel'));
    if (tunnel === undefined) return;
    b.obj.tunnel = tunnel;
    ctx.locate(b.path, 'tunnel', options[0] as Token, s.keyword.text);
  },
});

/**
 * A real or sorry server copies the virtual server's tunnel when it is read;
 * its own `lvs_method TUN` without options starts again from IPIP (keepalived's
 * alloc_rs and svr_forwarding_handler).
 */
function ownTunUsesIpip(server: Obj, virtualServer: Obj): void {
  if (server.lbKind === 'TUN' && server.tunnel === undefined && virtualServer.tunnel !== undefined)
    server.tunnel = { type: 'ipip' };
}

/** A checker block inside real_server: its own table, keyed by the checker's name. */
const checker = (type: string, table: KeywordTable): Keyword => ({
  sets: ['checkers'],
  handle: (ctx, b, s) => {
    const checkers = b.obj.checkers;
    const index = Array.isArray(checkers) ? checkers.length : 0;
    const path = pathTo(b.path, 'checkers', index);
    // {} has room for four fields in the object itself, { type } for one.
    const obj: Record<string, unknown> = {};
    obj.type = type;
    ctx.remember(path, s);
    mapStatements(ctx, table, { obj, path, name: type }, ctx.needBlock(s) ?? []);
    if ((type === 'HTTP_GET' || type === 'SSL_GET') && obj.urls === undefined) {
      obj.urls = [];
      ctx.issues.error(s.keyword, `${type} needs at least one url { path ... }`);
    }
    if (type === 'MISC_CHECK' && obj.path === undefined)
      ctx.issues.error(s.keyword, "MISC_CHECK needs a 'misc_path'");
    // Made with its first checker: an empty list grown by a push keeps room for 16 more.
    if (index === 0) b.obj.checkers = [obj];
    else (checkers as Obj[]).push(obj);
  },
});

const CHECKER_ENTRIES: KeywordTable = Object.fromEntries(
  Object.entries(CHECKER_KEYWORDS).map(([type, table]) => [type, checker(type, table)]),
);

/** Timing a real or virtual server passes down to its checkers. */
const SERVER_TIMING: KeywordTable = tables(TIMING_KEYWORDS, {
  connect_timeout: scalar('connectTimeoutMs', secs),
});

/** real_server (keepalived's check_parser.c), with one entry per checker. */
export const REAL_SERVER_KEYWORDS: KeywordTable = tables(SERVER_TIMING, CHECKER_ENTRIES, {
  weight: scalar('weight', num),
  lvs_method: lvsMethod('lbKind'),
  lb_kind: renamed('lvs_method', lvsMethod('lbKind')),
  notify_up: command('notifyUp'),
  notify_down: command('notifyDown'),
  inhibit_on_failure: flag('inhibitOnFailure'),
  virtualhost: scalar('virtualhost'),
  smtp_alert: unsupported,
  alpha: unsupported,
  uthreshold: scalar('upperThreshold', num),
  lthreshold: scalar('lowerThreshold', num),
});

const sorryServer: Keyword = {
  sets: ['sorryServer.address', 'sorryServer.port'],
  handle: (ctx, b, s) => {
    if (!ctx.needArgs(s, 1, 'an address [port]')) return;
    const sorry = child(b.obj, 'sorryServer');
    const path = pathTo(b.path, 'sorryServer');
    sorry.address = (s.args[0] as Token).text;
    ctx.remember(path, s);
    ctx.locate(path, 'address', s.args[0] as Token, s.keyword.text);
    if (s.args[1]) {
      sorry.port = num(s.args[1]);
      ctx.locate(path, 'port', s.args[1], s.keyword.text);
    }
  },
};

const inSorry = (inner: Keyword): Keyword => ({
  sets: inner.sets.map((f) => `sorryServer.${f}`),
  handle: (ctx, b, s) =>
    inner.handle(
      ctx,
      { obj: child(b.obj, 'sorryServer'), path: pathTo(b.path, 'sorryServer'), name: b.name },
      s,
    ),
});

const realServer: Keyword = {
  sets: ['realServers'],
  handle: (ctx, b, s) => {
    if (!ctx.needArgs(s, 1, 'an address and port')) return;
    const reals = listIn(b.obj, 'realServers');
    const path = pathTo(b.path, 'realServers', reals.length);
    const address = s.args[0] as Token;
    // {} has room for four fields in the object itself, { address } for one.
    const obj: Record<string, unknown> = {};
    obj.address = address.text;
    ctx.remember(path, s);
    ctx.locate(path, 'address', address, s.keyword.text);
    if (s.args[1]) {
      obj.port = num(s.args[1]);
      ctx.locate(path, 'port', s.args[1], s.keyword.text);
    }
    mapStatements(
      ctx,
      REAL_SERVER_KEYWORDS,
      { obj, path, name: `real_server ${address.text}` },
      s.block ?? [],
    );
    ownTunUsesIpip(obj, b.obj);
    obj.checkers ??= [];
    reals.push(obj);
  },
};

/** virtual_server (keepalived's check_parser.c). */
export const VIRTUAL_SERVER_KEYWORDS: KeywordTable = tables(SERVER_TIMING, {
  real_server: realServer,
  lvs_sched: scalar('scheduler', (t) => t.text.toLowerCase()),
  lb_algo: renamed(
    'lvs_sched',
    scalar('scheduler', (t) => t.text.toLowerCase()),
  ),
  lvs_method: lvsMethod('lbKind'),
  lb_kind: renamed('lvs_method', lvsMethod('lbKind')),
  protocol: scalar('protocol', (t) => t.text.toUpperCase()),
  persistence_timeout: {
    sets: ['persistenceTimeoutMs'],
    handle: (ctx, b, s) => {
      // A bare persistence_timeout means keepalived's default of 6 minutes.
      if (s.args.length > 0) return ctx.scalar(b.obj, 'persistenceTimeoutMs', b.path, s, secs);
      b.obj.persistenceTimeoutMs = 360_000;
      ctx.locate(b.path, 'persistenceTimeoutMs', s.keyword, s.keyword.text);
    },
  },
  persistence_granularity: scalar('persistenceGranularity'),
  virtualhost: scalar('virtualhost'),
  sorry_server: sorryServer,
  sorry_server_lvs_method: {
    ...inSorry(lvsMethod('lbKind')),
    handle: (ctx, b, s) => {
      inSorry(lvsMethod('lbKind')).handle(ctx, b, s);
      ownTunUsesIpip(child(b.obj, 'sorryServer'), b.obj);
    },
  },
  sorry_server_inhibit: inSorry(flag('inhibit')),
  quorum: scalar('quorum', num),
  hysteresis: scalar('hysteresis', num),
  quorum_up: command('quorumUp'),
  quorum_down: command('quorumDown'),
  alpha: flag('alpha'),
  omega: flag('omega'),
  lbctl_bgp_announce: flag('bgpAnnounce'),
  inhibit_on_failure: flag('inhibitOnFailure'),
  ha_suspend: flag('haSuspend'),
  smtp_alert: flag('smtpAlert'),
  ip_family: scalar('family', (t) => familyName(t.text)),
  // ipvsadm -b: sh-port/mh-port also hash the client's port; *-fallback skips unavailable reals.
  'sh-port': flag('hashSourcePort'),
  'mh-port': flag('hashSourcePort'),
  'sh-fallback': flag('schedulerFallback'),
  'mh-fallback': flag('schedulerFallback'),
  nat_mask: {
    sets: [],
    handle: (ctx, _b, s) =>
      ctx.issues.warn(s.keyword, "'nat_mask' is obsolete and has no effect; ignored"),
  },
  ops: unsupported,
  'flag-1': unsupported,
  'flag-2': unsupported,
  'flag-3': unsupported,
  persistence_engine: unsupported,
});

export const VIRTUAL_SERVER: BlockSpec = {
  keyword: 'virtual_server',
  header: ['address', 'port', 'fwmark', 'group'],
  table: VIRTUAL_SERVER_KEYWORDS,
};
export const REAL_SERVER: BlockSpec = {
  keyword: 'real_server',
  header: ['address', 'port'],
  table: REAL_SERVER_KEYWORDS,
};
