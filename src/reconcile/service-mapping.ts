/**
 * Maps configured virtual servers to data-plane services: keepalived's names
 * (lb_kind, lb_algo, persistence_timeout/granularity, virtual_server_group)
 * become ServiceSpecs and DesiredReals. What cannot run is refused here,
 * before anything is applied, by the same check `lbctl validate` runs
 * (src/config/virtual-server-rules.ts).
 */

import { forwardingOf } from '../config/data-plane-choice.js';
import type {
  AddressFamily,
  DataPlaneChoice,
  VirtualServer,
  VirtualServerGroup,
} from '../config/model.js';
import { checkVirtualServer } from '../config/virtual-server-rules.js';
import { prefixLengthOf } from '../config/virtual-server-targets.js';
import {
  type DataPlaneKind,
  type DesiredReal,
  type Persistence,
  protocolLabel,
  type ServiceSpec,
} from '../dataplane/dataplane.js';
import { SORRY_SERVER_WEIGHT } from '../health/virtual-server-health.js';
import { canonicalAddress } from '../net/address.js';
import { formatEndpoint } from '../net/endpoint.js';
import { UnsupportedServiceError } from './reconcile-error.js';

export { MAX_GROUP_ADDRESSES, prefixLengthOf } from '../config/virtual-server-targets.js';

/** One configured virtual server as data-plane services plus its configured reals. */
export interface MappedVirtualServer {
  /** How logs, checks and scripts name it, e.g. "TCP 10.0.0.3:80" or "TCP group web". */
  readonly name: string;
  /** The data plane that carries it. */
  readonly plane: DataPlaneKind;
  /** One per address of the target (a group gives several). */
  readonly services: readonly ServiceSpec[];
  /** The reals with their configured weights, in configuration order. */
  readonly reals: readonly DesiredReal[];
  readonly sorry?: DesiredReal;
  /** VIPs the services listen on (used to find owning VRRP instances and interfaces); a mark has none. */
  readonly vips: readonly string[];
}

export const realKey = (address: string, port: number): string => formatEndpoint(address, port);

export function virtualServerName(vs: VirtualServer): string {
  const t = vs.target;
  const protocol = protocolLabel(vs.protocol);
  if (t.kind === 'address') return `${protocol} ${formatEndpoint(t.address, t.port)}`;
  if (t.kind === 'fwmark') return `${protocol} fwmark ${t.fwmark}`;
  return `${protocol} group ${t.group}`;
}

export function mapVirtualServer(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
  choice: DataPlaneChoice = 'auto',
): MappedVirtualServer {
  const name = virtualServerName(vs);
  const check = checkVirtualServer(vs, groups, choice);
  if (check.problems.length > 0) {
    throw new UnsupportedServiceError(
      `Cannot run virtual server ${name}: ${check.problems.map((p) => p.message).join('; ')}`,
    );
  }
  if (check.plane === undefined) {
    const why = check.unrunnable?.message ?? 'no data plane can run it';
    throw new UnsupportedServiceError(`Cannot run virtual server ${name}: ${why}`, true);
  }
  const services = check.targets.map(({ address, family, port, fwmark }): ServiceSpec => {
    const persistence = persistenceOf(vs, family);
    return {
      vip: address,
      port,
      protocol: vs.protocol,
      ...(fwmark !== undefined ? { fwmark } : {}),
      scheduler: vs.scheduler,
      // Only sh and mh hash; ipvsadm accepts the flag on others and it has no effect there.
      ...(vs.hashSourcePort && (vs.scheduler === 'sh' || vs.scheduler === 'mh')
        ? { hashSourcePort: true }
        : {}),
      // XDP behaves as if it were set (see ServiceSpec); only IPVS takes the flag.
      ...(vs.schedulerFallback &&
      (vs.scheduler === 'sh' || vs.scheduler === 'mh') &&
      check.plane?.kind === 'ipvs'
        ? { schedulerFallback: true }
        : {}),
      ...(persistence !== undefined ? { persistence } : {}),
    };
  });
  const reals = vs.realServers.map(
    (rs): DesiredReal => ({
      address: canonicalAddress(rs.address),
      port: rs.port,
      weight: rs.weight,
      forwarding: forwardingOf(rs.lbKind),
      ...(rs.upperThreshold !== undefined ? { upperThreshold: rs.upperThreshold } : {}),
      ...(rs.lowerThreshold !== undefined ? { lowerThreshold: rs.lowerThreshold } : {}),
      ...(rs.tunnel !== undefined ? { tunnel: rs.tunnel } : {}),
    }),
  );
  const sorry = vs.sorryServer;
  return {
    name,
    plane: check.plane.kind,
    services,
    reals,
    vips: [...new Set(services.filter((s) => s.fwmark === undefined).map((s) => s.vip))],
    ...(sorry !== undefined
      ? {
          sorry: {
            address: canonicalAddress(sorry.address),
            port: sorry.port,
            weight: SORRY_SERVER_WEIGHT,
            forwarding: forwardingOf(sorry.lbKind),
            ...(sorry.tunnel !== undefined ? { tunnel: sorry.tunnel } : {}),
          },
        }
      : {}),
  };
}

function persistenceOf(vs: VirtualServer, family: AddressFamily): Persistence | undefined {
  if (vs.persistenceTimeoutMs === undefined) return undefined;
  // The data plane counts whole seconds; never round a short timeout down to none.
  const timeoutS = Math.max(1, Math.ceil(vs.persistenceTimeoutMs / 1000));
  const granularity = vs.persistenceGranularity;
  if (granularity === undefined) return { timeoutS };
  const unreachable = (reason: string): never => {
    throw new UnsupportedServiceError(reason);
  };
  return { timeoutS, prefixLength: prefixLengthOf(granularity, family, unreachable) };
}
