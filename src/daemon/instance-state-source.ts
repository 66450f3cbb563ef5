import type { VrrpState } from '../vrrp/state.js';

/**
 * The VRRP states other services follow (ha_suspend: health checks of a
 * virtual server run only while the VRRP instance owning its VIP is MASTER).
 * The VRRP service provides it; without one, every instance counts as MASTER.
 */
export interface InstanceStateSource {
  /** The instance's current state; undefined for an instance it does not run. */
  state(instance: string): VrrpState | undefined;
  /** Calls `listener` after every state change; returns the function that stops listening. */
  onChange(listener: (instance: string, state: VrrpState) => void): () => void;
}
