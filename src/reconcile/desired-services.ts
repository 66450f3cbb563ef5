import type { Forwarding, ServiceSpec } from '../dataplane/dataplane.js';
import type { DesiredServiceState } from '../health/desired-state.js';
import { canonicalAddress } from '../net/address.js';
import { type MappedVirtualServer, realKey } from './service-mapping.js';

/** A real as the reconciler wants it, before its next hop is known. */
export interface DesiredReal {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly forwarding: Forwarding;
}

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
  return mapped.services.map((spec) => {
    const reals = new Map<string, DesiredReal>();
    const add = (address: string, port: number, weight: number, forwarding: Forwarding) => {
      // DR and TUN cannot change the port: the real serves the VIP's.
      const realPort = forwarding === 'nat' ? port : spec.port;
      const key = realKey(address, realPort);
      const previous = reals.get(key);
      if (previous === undefined || previous.weight < weight) {
        reals.set(key, { address, port: realPort, weight, forwarding });
      }
    };
    for (const real of state.reals) {
      const address = canonicalAddress(real.address);
      const forwarding = mapped.reals.get(realKey(address, real.port))?.forwarding ?? 'dr';
      add(address, real.port, real.weight, forwarding);
    }
    if (sorry !== undefined && !sorryIsLocal) {
      add(
        canonicalAddress(sorry.address),
        sorry.port,
        sorry.weight,
        mapped.sorry?.forwarding ?? 'dr',
      );
    }
    return { spec, reals: [...reals.values()] };
  });
}
