/**
 * Which virtual servers a reload adds, removes, changes or leaves alone,
 * keyed by how keepalived identifies one (protocol and address:port, fwmark
 * or group). "Unchanged" means the whole block, and the group it names, is
 * equal: such a virtual server keeps its checks, their state and its
 * data-plane services untouched.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config, VirtualServer } from '../config/model.js';
import { virtualServerName } from '../reconcile/service-mapping.js';
import { LoopSlicer } from '../time/loop-slice.js';

export interface VirtualServerDiff {
  readonly added: readonly VirtualServer[];
  readonly removed: readonly string[];
  readonly changed: readonly VirtualServer[];
  readonly unchanged: readonly string[];
}

/**
 * Compares the two configurations' virtual servers, yielding to the event
 * loop as it goes: comparing thousands of them whole (every real, every
 * checker) takes tens of milliseconds, and VRRP's timers share the loop.
 */
export async function diffVirtualServers(
  before: Config,
  after: Config,
  slicer = new LoopSlicer(),
): Promise<VirtualServerDiff> {
  // Global settings (check defaults, TLS material) feed every virtual server's checks.
  const globalsChanged =
    !isDeepStrictEqual(before.global, after.global) || !isDeepStrictEqual(before.ssl, after.ssl);
  const old = new Map(before.virtualServers.map((vs) => [virtualServerName(vs), vs]));
  const added: VirtualServer[] = [];
  const changed: VirtualServer[] = [];
  const unchanged: string[] = [];
  for (const vs of after.virtualServers) {
    await slicer.maybeYield();
    const name = virtualServerName(vs);
    const previous = old.get(name);
    old.delete(name);
    if (previous === undefined) added.push(vs);
    else if (!globalsChanged && isDeepStrictEqual(previous, vs) && sameGroup(before, after, vs))
      unchanged.push(name);
    else changed.push(vs);
  }
  return { added, removed: [...old.keys()], changed, unchanged };
}

function sameGroup(before: Config, after: Config, vs: VirtualServer): boolean {
  if (vs.target.kind !== 'group') return true;
  const name = vs.target.group;
  const find = (c: Config) => c.virtualServerGroups.find((g) => g.name === name);
  return isDeepStrictEqual(find(before), find(after));
}
