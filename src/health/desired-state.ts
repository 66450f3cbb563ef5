import type { DesiredReal } from '../dataplane/dataplane.js';

export type { DesiredReal };

/**
 * What a virtual service should look like right now. Plain, frozen data so a
 * reconciler can diff successive values.
 */
export interface DesiredServiceState {
  readonly reals: readonly DesiredReal[];
  /** Present while the sorry server is active, or at weight 0 with sorry_server_inhibit. */
  readonly sorry?: DesiredReal;
  readonly quorumUp: boolean;
}

export function freezeState(state: DesiredServiceState): DesiredServiceState {
  for (const real of state.reals) Object.freeze(real);
  Object.freeze(state.reals);
  if (state.sorry !== undefined) Object.freeze(state.sorry);
  return Object.freeze(state);
}

/** True when two states would program the data plane identically. */
export function sameState(a: DesiredServiceState, b: DesiredServiceState): boolean {
  if (a.quorumUp !== b.quorumUp || a.reals.length !== b.reals.length) return false;
  if (!sameReal(a.sorry, b.sorry)) return false;
  return a.reals.every((real, i) => sameReal(real, b.reals[i]));
}

function sameReal(a: DesiredReal | undefined, b: DesiredReal | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.weight === b.weight &&
    a.forwarding === b.forwarding
  );
}
