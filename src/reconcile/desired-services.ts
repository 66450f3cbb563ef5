import type { DesiredReal, ServiceSpec } from '../dataplane/dataplane.js';
import { realPort } from '../dataplane/service-rules.js';
import type { DesiredServiceState } from '../health/desired-state.js';
import { canonicalAddress } from '../net/address.js';
import { type MappedVirtualServer, realKey } from './service-mapping.js';

export type { DesiredReal };

export interface DesiredService {
  readonly spec: ServiceSpec;
  readonly reals: readonly DesiredReal[];
}

/** True for addresses the director itself answers on (loopback or one of its own). */
export type LocalAddressTest = (address: string) => boolean;

/**
 * The data-plane services one virtual server should have in `state`.
 *
 * A sorry server on the director itself (e.g. `sorry_server 127.0.0.1 80`) cannot be
 * a forwarding target: while it is in charge the services are left out of
 * the data plane, so the packets reach the director's own stack, which owns
 * the VIP and answers on the VIP's port.
 */
export function desiredServices(
  mapped: MappedVirtualServer,
  state: DesiredServiceState,
  isLocal: LocalAddressTest,
): DesiredService[] {
  const sorry = state.sorry;
  const sorryIsLocal = sorry !== undefined && isLocal(sorry.address);
  if (sorry !== undefined && sorryIsLocal && sorry.weight > 0) return [];
  // Health decides weights; connection thresholds are the configuration's, as configured.
  const limits = new Map(
    mapped.reals
      .filter((r) => r.upperThreshold !== undefined || r.lowerThreshold !== undefined)
      .map((r) => [realKey(canonicalAddress(r.address), r.port), r]),
  );
  return mapped.services.map((spec) => {
    const reals = new Map<string, DesiredReal>();
    const add = (real: DesiredReal) => {
      const address = canonicalAddress(real.address);
      const port = realPort(spec, real);
      const key = realKey(address, port);
      const previous = reals.get(key);
      const limit = limits.get(realKey(address, real.port));
      if (previous === undefined || previous.weight < real.weight) {
        reals.set(key, {
          ...real,
          address,
          port,
          ...(limit?.upperThreshold !== undefined ? { upperThreshold: limit.upperThreshold } : {}),
          ...(limit?.lowerThreshold !== undefined ? { lowerThreshold: limit.lowerThreshold } : {}),
        });
      }
    };
    for (const real of state.reals) add(real);
    if (sorry !== undefined && !sorryIsLocal) add(sorry);
    return { spec, reals: [...reals.values()] };
  });
}
