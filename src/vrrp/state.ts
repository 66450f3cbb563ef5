/** The states of a VRRP instance. STOP is final (shutdown). */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** Every transition the engine may make; anything else is a bug and is refused. */
export const ALLOWED_TRANSITIONS: Readonly<Record<VrrpState, readonly VrrpState[]>> = {
  INIT: ['BACKUP', 'MASTER', 'FAULT', 'STOP'],
  BACKUP: ['MASTER', 'FAULT', 'STOP'],
  MASTER: ['BACKUP', 'FAULT', 'STOP'],
  FAULT: ['BACKUP', 'MASTER', 'STOP'],
  STOP: [],
};

export function transitionAllowed(from: VrrpState, to: VrrpState): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** A state change as observers see it. */
export interface StateChange {
  readonly instance: string;
  readonly from: VrrpState;
  readonly to: VrrpState;
  readonly reason: string;
  /** Why, from a closed set (metrics label it; `reason` has the details). */
  readonly cause: TransitionCause;
  readonly priority: number;
}

/** Why a VRRP instance changed state, as a bounded set of names. */
export const TRANSITION_CAUSES = [
  'startup',
  'addressOwner',
  'shutdown',
  'trackDown',
  'trackUp',
  'syncGroup',
  'higherPriority',
  'masterDown',
] as const;
export type TransitionCause = (typeof TRANSITION_CAUSES)[number];
