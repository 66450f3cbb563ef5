import { command, inChild, type Keyword, type KeywordTable } from '../keyword-table.js';
import type { Token } from '../lexer.js';
import type { DocPath } from '../location-table.js';
import type { MapContext, Obj } from '../map-context.js';
import { num } from '../map-context.js';
import type { Statement } from '../parser.js';

/**
 * Entries vrrp_instance and vrrp_sync_group share (keepalived registers the
 * same handlers in both): what they track and the scripts they notify.
 */

/** `NAME [weight N [reverse|noreverse]]` lines of a track_* block. */
function trackEntries(ctx: MapContext, stmt: Statement, path: DocPath, start: number): Obj[] {
  return ctx.entries(stmt, path, start, (entry, at) => {
    const item: Obj = { name: entry.keyword.text };
    ctx.open(item, entry);
    ctx.locate(at, 'name', entry.keyword, stmt.keyword.text);
    const args = [...entry.args];
    while (args.length > 0) {
      const opt = args.shift() as Token;
      if (opt.text === 'weight' && args[0]) {
        const w = args.shift() as Token;
        item.weight = num(w);
        ctx.locate(at, 'weight', w, 'weight');
      } else if (opt.text === 'reverse') item.reverse = true;
      else if (opt.text === 'noreverse' || opt.text === 'no_reverse') item.reverse = false;
      else
        ctx.issues.error(
          opt,
          `unexpected '${opt.text}' in ${stmt.keyword.text}; expected weight <n> [reverse]`,
        );
    }
    return item;
  });
}

const trackBlock = (field: string): Keyword => ({
  sets: [field],
  handle: (ctx, b, s) =>
    ctx.appendList(b.obj, b.path, field, s, (st, path, start) =>
      trackEntries(ctx, st, path, start),
    ),
});

const notify = (field: string) => inChild('notify', command(field));

export const TRACK_KEYWORDS: KeywordTable = {
  track_interface: trackBlock('trackInterfaces'),
  track_script: trackBlock('trackScripts'),
  track_file: trackBlock('trackFiles'),
};

export const NOTIFY_KEYWORDS: KeywordTable = {
  notify_master: notify('master'),
  notify_backup: notify('backup'),
  notify_fault: notify('fault'),
  notify_stop: notify('stop'),
  notify: notify('any'),
};
