import { familyOf } from '../../address.js';
import { pathTo } from '../../doc-path.js';
import type { Keyword } from '../keyword-table.js';
import { familyName, listIn, num, type Obj } from '../map-context.js';

/**
 * virtual_server_group NAME { ADDR[-LAST|/LEN] [PORT] ... fwmark N [inet|inet6] }:
 * its lines are entries, not keywords, so it has no keyword table.
 */
export const VIRTUAL_SERVER_GROUP: Keyword = {
  sets: ['virtualServerGroups'],
  handle: (ctx, b, stmt) => {
    if (!ctx.needArgs(stmt, 1, 'a name')) return;
    const groups = listIn(b.obj, 'virtualServerGroups');
    const path = ['virtualServerGroups', groups.length];
    const obj: Obj = { name: (stmt.args[0] as { text: string }).text };
    ctx.remember(path, stmt);
    const entries: Obj[] = [];
    for (const e of ctx.needBlock(stmt) ?? []) {
      const at = pathTo(path, 'entries', entries.length);
      ctx.remember(at, e);
      const first = e.keyword.text;
      const [x, y] = e.args;
      if (first === 'fwmark') {
        if (!x) {
          ctx.issues.error(e.keyword, "'fwmark' needs a value");
          continue;
        }
        const entry: Obj = { fwmark: num(x) };
        ctx.locate(at, 'fwmark', x, 'fwmark');
        if (y) entry.family = familyName(y.text);
        entries.push(entry);
        continue;
      }
      let entry: Obj;
      if (first.includes('/')) {
        const range = cidrToRange(first);
        if (range === undefined) {
          ctx.issues.error(e.keyword, `'${first}' is not a valid IPv4 CIDR range`);
          continue;
        }
        entry = { range };
        ctx.locate(at, 'range', e.keyword, 'virtual_server_group');
      } else if (first.includes('-')) {
        entry = { range: first };
        ctx.locate(at, 'range', e.keyword, 'virtual_server_group');
      } else {
        entry = { address: first };
        ctx.locate(at, 'address', e.keyword, 'virtual_server_group');
      }
      if (x) {
        entry.port = num(x);
        ctx.locate(at, 'port', x, 'virtual_server_group');
      }
      entries.push(entry);
    }
    obj.entries = entries;
    groups.push(obj);
  },
};

/** "10.0.0.8/29" → "10.0.0.8-10.0.0.15" (IPv4 only). */
function cidrToRange(cidr: string): string | undefined {
  const [addr = '', lenText = ''] = cidr.split('/');
  const len = Number(lenText);
  if (familyOf(addr) !== 'ipv4' || !/^\d+$/.test(lenText) || len > 32) return undefined;
  const value = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - len);
  const first = Math.floor(value / size) * size;
  const toText = (v: number) => [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
  return `${toText(first)}-${toText(first + size - 1)}`;
}
