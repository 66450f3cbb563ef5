import { pathTo } from '../../doc-path.js';
import {
  type BlockSpec,
  flag,
  type Keyword,
  type KeywordTable,
  mapStatements,
  scalar,
  tables,
  unsupported,
  userAndGroup,
} from '../keyword-table.js';
import type { Token } from '../lexer.js';
import { listIn, num, secs, upper } from '../map-context.js';

/**
 * `nb_get_retry`: keepalived 2.2.7 no longer knows it and skips it as an
 * unknown keyword, so a file that sets it runs with the default retry there.
 * lbctl does the same, so the same file behaves the same, and says so.
 */
export const NB_GET_RETRY: Keyword = {
  sets: [],
  handle: (ctx, _b, s) =>
    ctx.issues.warn(
      s.keyword,
      "'nb_get_retry' is not a keyword of keepalived 2.2.7, which ignores it; lbctl ignores it too, so the default number of retries applies; use 'retry'",
    ),
};

/** Timing every checker takes, which real_server and virtual_server also set for their checkers. */
export const TIMING_KEYWORDS: KeywordTable = {
  retry: scalar('retry', num),
  nb_get_retry: NB_GET_RETRY,
  delay_before_retry: scalar('delayBeforeRetryMs', secs),
  warmup: scalar('warmupMs', secs),
  delay_loop: scalar('delayLoopMs', secs),
};

/** What every checker that opens a connection takes (keepalived's install_checker_common_keywords). */
const CONNECTION_KEYWORDS: KeywordTable = tables(TIMING_KEYWORDS, {
  connect_ip: scalar('connectIp'),
  connect_port: scalar('connectPort', num),
  bindto: scalar('bindTo'),
  connect_timeout: scalar('connectTimeoutMs', secs),
  bind_if: unsupported,
  bind_port: unsupported,
  fwmark: unsupported,
  log_all_failures: unsupported,
  alpha: unsupported,
});

const URL_KEYWORDS: KeywordTable = {
  path: scalar('path'),
  digest: scalar('digest'),
  virtualhost: scalar('virtualhost'),
  status_code: {
    sets: ['statusCodes'],
    handle: (ctx, b, s) => {
      if (!ctx.needArgs(s, 1, 'one or more codes or ranges')) return;
      b.obj.statusCodes = s.args.map((t, j) => {
        ctx.locate(pathTo(b.path, 'statusCodes'), j, t, 'status_code');
        return /^\d+$/.test(t.text) ? Number(t.text) : t.text;
      });
      ctx.locate(b.path, 'statusCodes', s.args[0] as Token, 'status_code');
    },
  },
};

export const URL: BlockSpec = { keyword: 'url', header: [], table: URL_KEYWORDS };

const url: Keyword = {
  sets: ['urls'],
  handle: (ctx, b, s) => {
    const urls = listIn(b.obj, 'urls');
    const path = pathTo(b.path, 'urls', urls.length);
    const obj: Record<string, unknown> = {};
    ctx.remember(path, s);
    mapStatements(ctx, URL_KEYWORDS, { obj, path, name: 'url' }, ctx.needBlock(s) ?? []);
    if (obj.path === undefined) ctx.issues.error(s.keyword, "url needs a 'path'");
    urls.push(obj);
  },
};

const HTTP_KEYWORDS: KeywordTable = tables(CONNECTION_KEYWORDS, {
  url,
  virtualhost: scalar('virtualhost'),
  http_protocol: scalar('httpProtocol', upper),
  fast_recovery: unsupported,
});

const joined = (field: string): Keyword => ({
  sets: [field],
  handle: (ctx, b, s) => {
    if (!ctx.needArgs(s, 1, 'a value')) return;
    b.obj[field] = s.args.map((t) => t.text).join(' ');
    ctx.locate(b.path, field, s.args[0] as Token, s.keyword.text);
  },
});

/** One table per checker, as each checker registers its own keywords in keepalived. */
export const CHECKER_KEYWORDS: Readonly<Record<string, KeywordTable>> = {
  TCP_CHECK: CONNECTION_KEYWORDS,
  HTTP_GET: HTTP_KEYWORDS,
  SSL_GET: tables(HTTP_KEYWORDS, { enable_sni: flag('enableSni') }),
  MISC_CHECK: tables(TIMING_KEYWORDS, {
    misc_path: joined('path'),
    misc_timeout: scalar('timeoutMs', secs),
    misc_dynamic: flag('dynamic'),
    user: userAndGroup,
    alpha: unsupported,
    log_all_failures: unsupported,
  }),
  DNS_CHECK: tables(CONNECTION_KEYWORDS, {
    type: scalar('queryType', upper),
    name: scalar('name'),
  }),
  SMTP_CHECK: tables(CONNECTION_KEYWORDS, { helo_name: scalar('heloName') }),
  UDP_CHECK: tables(CONNECTION_KEYWORDS, {
    payload: joined('payload'),
    require_reply: {
      sets: ['requireReply', 'replyPattern'],
      handle: (ctx, b, s) => {
        b.obj.requireReply = true;
        if (s.args.length > 0) b.obj.replyPattern = s.args.map((t) => t.text).join(' ');
        ctx.locate(b.path, 'replyPattern', s.args[0] ?? s.keyword, s.keyword.text);
      },
    },
    min_reply_length: scalar('minReplyLength', num),
    max_reply_length: scalar('maxReplyLength', num),
  }),
  PING_CHECK: CONNECTION_KEYWORDS,
};

export const CHECKER_BLOCKS: readonly BlockSpec[] = Object.entries(CHECKER_KEYWORDS).map(
  ([keyword, table]) => ({ keyword, header: ['type'], table }),
);
