import type { Token } from '../lexer.js';
import type { DocPath } from '../location-table.js';
import { type MapContext, num, type Obj } from '../map-context.js';
import type { Statement } from '../parser.js';

/** Reads the lines of one list block into entries at path[start...]. */
export type EntryReader = (ctx: MapContext, stmt: Statement, path: DocPath, start: number) => Obj[];

/** Address options that take a value, by keepalived's name. */
const VALUED: Readonly<Record<string, string>> = {
  dev: 'dev',
  label: 'label',
  scope: 'scope',
  brd: 'broadcast',
  broadcast: 'broadcast',
};
const IGNORED_WITH_VALUE = new Set(['peer', 'preferred_lft', 'track_group']);
const IGNORED_FLAGS = new Set([
  'home',
  '-nodad',
  'nodad',
  'mngtmpaddr',
  'noprefixroute',
  'autojoin',
  'no_track',
]);

/** Lines of virtual_ipaddress / virtual_ipaddress_excluded: `ADDR[/LEN] [dev X] [label Y] ...`. */
export const addressEntries: EntryReader = (ctx, stmt, path, start) =>
  ctx.entries(stmt, path, start, (entry, at) => {
    const item: Obj = { address: entry.keyword.text };
    ctx.locate(at, 'address', entry.keyword, stmt.keyword.text);
    const args = [...entry.args];
    while (args.length > 0) {
      const opt = args.shift() as Token;
      const key = Object.hasOwn(VALUED, opt.text) ? VALUED[opt.text] : undefined;
      if (key !== undefined) {
        const value = args.shift();
        if (!value) {
          ctx.issues.error(opt, `'${opt.text}' needs a value`);
          break;
        }
        item[key] = value.text;
        ctx.locate(at, key, value, opt.text);
      } else if (IGNORED_WITH_VALUE.has(opt.text)) {
        args.shift();
        ctx.issues.warn(
          opt,
          `'${opt.text}' on a virtual address is not supported by lbctl; ignored`,
        );
      } else if (IGNORED_FLAGS.has(opt.text)) {
        ctx.issues.warn(
          opt,
          `'${opt.text}' on a virtual address is not supported by lbctl; ignored`,
        );
      } else if (opt.text === 'use_vmac') {
        ctx.issues.error(
          opt,
          "'use_vmac' is not supported by lbctl: VIPs live on the instance's interface and a takeover announces them with gratuitous ARP / unsolicited NA",
        );
      } else {
        ctx.issues.error(
          opt,
          `unexpected '${opt.text}' after virtual address ${entry.keyword.text}`,
        );
      }
    }
    return item;
  });

/** Lines of virtual_routes: `[src A] [to] DEST [via|gw GW] [dev X] [scope S] [table T] [metric M] [blackhole|...]`. */
export const routeEntries: EntryReader = (ctx, stmt, path, start) =>
  ctx.entries(stmt, path, start, (entry, at) => {
    const item: Obj = {};
    const words = [entry.keyword, ...entry.args];
    while (words.length > 0) {
      const w = words.shift() as Token;
      const take = (key: string, conv: (t: Token) => unknown = (t) => t.text) => {
        const v = words.shift();
        if (!v) ctx.issues.error(w, `'${w.text}' needs a value`);
        else {
          item[key] = conv(v);
          ctx.locate(at, key, v, w.text);
        }
      };
      switch (w.text) {
        case 'src':
          take('src');
          break;
        case 'to':
          take('destination');
          break;
        case 'via':
        case 'gw':
          take('via');
          break;
        case 'or':
          words.shift();
          ctx.issues.warn(
            w,
            "multipath 'or' routes are not supported by lbctl; only the first gateway is used",
          );
          break;
        case 'dev':
          take('dev');
          break;
        case 'scope':
          take('scope');
          break;
        case 'table':
          take('table', num);
          break;
        case 'metric':
          take('metric', num);
          break;
        case 'blackhole':
        case 'unreachable':
        case 'prohibit':
          item.type = w.text;
          break;
        case 'no_track':
          ctx.issues.warn(w, "'no_track' is not supported by lbctl; ignored");
          break;
        default:
          if (item.destination === undefined && /^[0-9a-fA-F:.]+(\/\d+)?$/.test(w.text)) {
            item.destination = w.text;
            ctx.locate(at, 'destination', w, 'virtual_routes');
          } else {
            ctx.issues.error(w, `unexpected '${w.text}' in virtual_routes`);
          }
      }
    }
    if (item.destination === undefined)
      ctx.issues.error(entry.keyword, 'a virtual route needs a destination');
    return item;
  });

/** Lines of unicast_peer: `ADDR [min_ttl N] [max_ttl N]`. */
export const peerEntries: EntryReader = (ctx, stmt, path, start) =>
  ctx.entries(stmt, path, start, (p, at) => {
    const peer: Obj = { address: p.keyword.text };
    ctx.locate(at, 'address', p.keyword, stmt.keyword.text);
    for (let a = 0; a < p.args.length; a += 2) {
      const opt = p.args[a] as Token;
      const value = p.args[a + 1];
      const key = opt.text === 'min_ttl' ? 'minTtl' : opt.text === 'max_ttl' ? 'maxTtl' : undefined;
      if (!key || !value) {
        ctx.issues.error(
          opt,
          `unexpected '${opt.text}' after unicast peer; expected min_ttl <n> or max_ttl <n>`,
        );
        break;
      }
      peer[key] = num(value);
      ctx.locate(at, key, value, opt.text);
    }
    return peer;
  });
