/**
 * keepalived's quorum with hysteresis: quorum is gained when the live weight
 * reaches quorum + hysteresis and lost when it drops below quorum - hysteresis
 * (or to zero), so small wobbles around the threshold do not flap.
 */
export function nextQuorumUp(
  currentlyUp: boolean,
  liveWeight: number,
  quorum: number,
  hysteresis: number,
): boolean {
  if (currentlyUp) return !(liveWeight === 0 || liveWeight < quorum - hysteresis);
  return liveWeight >= quorum + hysteresis;
}
