import type { MapContext, Obj } from './map-context.js';

/**
 * What keepalived drops once the whole file is read, with a warning, rather
 * than refusing the file: a vrrp_script left without a `script` (typically a
 * conditional `@id script ...` line for another host) together with every
 * track_script entry naming it, a vrrp_sync_group without instances, and the
 * authentication of a VRRPv3 instance.
 */
export function removeUnusable(ctx: MapContext, doc: Obj): void {
  removeScriptsWithoutCommand(ctx, doc);
  removeEmptySyncGroups(ctx, doc);
  ignoreV3Authentication(ctx, doc);
}

const objects = (value: unknown): Obj[] => (Array.isArray(value) ? (value as Obj[]) : []);

/** Removes list item `index` from the document and from the recorded positions. */
function removeItem(
  ctx: MapContext,
  list: Obj[],
  path: readonly (string | number)[],
  index: number,
) {
  list.splice(index, 1);
  ctx.removeListItem(path, index);
}

function removeScriptsWithoutCommand(ctx: MapContext, doc: Obj): void {
  const scripts = objects(doc.vrrpScripts);
  const removed = new Set<string>();
  for (let i = scripts.length - 1; i >= 0; i--) {
    const script = scripts[i] as Obj;
    if (script.script !== undefined) continue;
    const name = String(script.name);
    const at = ctx.openedBy(script);
    if (at !== undefined)
      ctx.issues.warn(at, `vrrp_script ${name} has no 'script' line; the script is removed`);
    removed.add(name);
    removeItem(ctx, scripts, ['vrrpScripts'], i);
  }
  if (removed.size === 0) return;
  // A name still defined by another vrrp_script block keeps its tracking.
  for (const script of scripts) removed.delete(String(script.name));
  for (const key of ['vrrpInstances', 'vrrpSyncGroups']) {
    objects(doc[key]).forEach((owner, i) => {
      const tracks = objects(owner.trackScripts);
      for (let j = tracks.length - 1; j >= 0; j--) {
        const ref = tracks[j] as Obj;
        if (!removed.has(String(ref.name))) continue;
        const at = ctx.openedBy(ref);
        if (at !== undefined)
          ctx.issues.warn(
            at,
            `track_script ${String(ref.name)}: that vrrp_script was removed; the tracking of it is ignored`,
          );
        removeItem(ctx, tracks, [key, i, 'trackScripts'], j);
      }
    });
  }
}

function removeEmptySyncGroups(ctx: MapContext, doc: Obj): void {
  const groups = objects(doc.vrrpSyncGroups);
  for (let i = groups.length - 1; i >= 0; i--) {
    const group = groups[i] as Obj;
    if (objects(group.instances).length > 0) continue;
    const at = ctx.openedBy(group);
    if (at !== undefined)
      ctx.issues.warn(
        at,
        `vrrp_sync_group ${String(group.name)} has no instances (they belong in a 'group { ... }' block); the sync group is ignored`,
      );
    removeItem(ctx, groups, ['vrrpSyncGroups'], i);
  }
}

function ignoreV3Authentication(ctx: MapContext, doc: Obj): void {
  const global = doc.global as Obj | undefined;
  for (const instance of objects(doc.vrrpInstances)) {
    const auth = instance.authentication as Obj | undefined;
    if (auth === undefined) continue;
    const version = instance.version ?? global?.vrrpVersion;
    if (version !== 3) continue;
    const at = ctx.openedBy(auth);
    // keepalived's own words, so operators searching for them find the same thing.
    if (at !== undefined)
      ctx.issues.warn(at, 'VRRP version 3 does not support authentication. Ignoring.');
    delete instance.authentication;
  }
}
