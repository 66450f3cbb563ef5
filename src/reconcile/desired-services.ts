import type { DesiredReal, ServiceSpec } from '../dataplane/dataplane.js';
import { capabilitiesOf } from '../dataplane/registry.js';
import { realPort } from '../dataplane/service-rules.js';
import type { DesiredServiceState } from '../health/desired-state.js';
import { canonicalAddress } from '../net/address.js';
import { type MappedVirtualServer, realKey } from './service-mapping.js';

export type { DesiredReal };

export interface DesiredService {
  readonly spec: ServiceSpec;
  readonly reals: readonly DesiredReal[];
  /** Its data plane needs each real's next hop (XDP); false when it routes by itself (IPVS). */
  readonly nextHops?: boolean;
}

/** True for addresses the director itself answers on (loopback or one of its own). */
export type LocalAddressTest = (address: string) => boolean;

/**
 * The data-plane services one virtual server should have in `state`.
 *
 * A sorry server on the director itself (e.g. `sorry_server 127.0.0.1 80`) is a
 * forwarding target only where the data plane can deliver locally (IPVS: the
 * kernel makes it a Local real, as keepalived gets it). Elsewhere (XDP), while
 * it is in charge the services are left out of the data plane, so the packets
 * reach the director's own stack, which owns the VIP and answers on the VIP's port.
 */
export function desiredServices(
  mapped: MappedVirtualServer,
  state: DesiredServiceState,
  isLocal: LocalAddressTest,
): DesiredService[] {
  const sorry = state.sorry;
  const sorryIsLocal =
    sorry !== undefined && isLocal(sorry.address) && !capabilitiesOf(mapped.plane).localReals;
  if (sorry !== undefined && sorryIsLocal && sorry.weight > 0) return [];
  // Health decides weights; thresholds and tunnels are the configuration's, as configured.
  const configured = new Map(
    // A real listed again as the sorry server keeps its own settings: reals come last.
    [...(mapped.sorry !== undefined ? [mapped.sorry] : []), ...mapped.reals].map((r) => [
      realKey(canonicalAddress(r.address), r.port),
      r,
    ]),
  );
  return mapped.services.map((spec) => {
    const reals = new Map<string, DesiredReal>();
    const add = (real: DesiredReal) => {
      const address = canonicalAddress(real.address);
      const port = realPort(spec, real);
      const key = realKey(address, port);
      const previous = reals.get(key);
      const as = configured.get(realKey(address, real.port));
      if (previous === undefined || previous.weight < real.weight) {
        reals.set(key, {
          ...real,
          address,
          port,
          ...(as?.upperThreshold !== undefined ? { upperThreshold: as.upperThreshold } : {}),
          ...(as?.lowerThreshold !== undefined ? { lowerThreshold: as.lowerThreshold } : {}),
          ...(as?.tunnel !== undefined && real.forwarding === 'tun' ? { tunnel: as.tunnel } : {}),
        });
      }
    };
    for (const real of state.reals) add(real);
    if (sorry !== undefined && !sorryIsLocal) add(sorry);
    return {
      spec,
      reals: [...reals.values()],
      ...(capabilitiesOf(mapped.plane).nextHops ? {} : { nextHops: false }),
    };
  });
}
