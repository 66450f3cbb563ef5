import type { GlobalSettings, VirtualServer } from './model.js';

/**
 * Why a virtual server announced over BGP (ECMP across directors) moves its
 * established flows when a director leaves, or undefined when it does not.
 * Only a non-persistent mh service with DR/TUN reals on the XDP data plane
 * keeps them without help: every director builds the same Maglev table and forwards segments of
 * flows it never saw open by the hash. Anything else needs the opening
 * director's connection entry, which only connection sync gives the others,
 * so `connectionSync` (whether this director syncs its connection table)
 * silences the warning.
 */
export function ecmpFlowMoveWarning(
  vs: VirtualServer,
  global: Pick<GlobalSettings, 'bgp' | 'dataPlane'>,
  connectionSync: boolean,
): string | undefined {
  if (global.bgp === undefined || !vs.bgpAnnounce || connectionSync) return undefined;
  const reason =
    vs.scheduler !== 'mh'
      ? `scheduler ${vs.scheduler} decides per director`
      : vs.persistenceTimeoutMs !== undefined
        ? 'persistence keeps its templates per director'
        : vs.lbKind === 'NAT'
          ? 'NAT keeps its translations per director'
          : global.dataPlane === 'ipvs'
            ? 'kernel IPVS forwards only the flows it saw open'
            : undefined;
  if (reason === undefined) return undefined;
  return `announced over BGP, so ECMP spreads clients across directors, but ${reason}: the established connections of a director that stops or fails are reset; use mh with DR or TUN, or connection sync`;
}
