import { canonicalAddress } from '../net/address.js';

/** A running virtual server as BGP announcement sees it. */
export interface AnnounceCandidate {
  readonly name: string;
  /** The VIPs of its services. */
  readonly vips: readonly string[];
  /** Configured to be announced (bgpAnnounce / lbctl_bgp_announce). */
  readonly announce: boolean;
  /** Can serve now: quorum up and its services applied to the data plane. */
  readonly serving: boolean;
}

/** Why the director announces nothing at all, when it does not. */
export interface DirectorCondition {
  /** A VRRP instance is in FAULT (only when VRRP runs too). */
  readonly vrrpFault?: string;
  /** The data plane failed its latest update. */
  readonly dataPlaneFailed?: boolean;
}

/**
 * The VIPs to announce and, for each withheld one, why. A VIP is announced
 * while every announcing virtual server on it can serve: a director that
 * cannot serve one port of a VIP must not attract that port's clients while
 * other directors can (ECMP spreads per flow, not per port).
 */
export function announcedVips(
  candidates: readonly AnnounceCandidate[],
  director: DirectorCondition,
): { announce: Set<string>; withheld: Map<string, string> } {
  const announce = new Set<string>();
  const withheld = new Map<string, string>();
  const directorReason =
    director.vrrpFault !== undefined
      ? `VRRP instance ${director.vrrpFault} is in FAULT`
      : director.dataPlaneFailed
        ? 'the data plane failed its latest update'
        : undefined;
  for (const c of candidates) {
    if (!c.announce) continue;
    for (const vip of c.vips.map(canonicalAddress)) {
      const reason =
        directorReason ?? (c.serving ? undefined : `virtual server ${c.name} has lost its quorum`);
      if (reason !== undefined) withheld.set(vip, withheld.get(vip) ?? reason);
      else announce.add(vip);
    }
  }
  for (const vip of withheld.keys()) announce.delete(vip);
  return { announce, withheld };
}
