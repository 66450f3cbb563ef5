/**
 * Which data plane runs a virtual server. `lbctl validate` and `lbctl up`
 * both ask here, and the answer comes from the data planes' own capability
 * declarations (src/dataplane/registry.ts), so validation never accepts what
 * starting refuses. With `dataPlane: auto` the first data plane able to run
 * the service wins, service by service.
 */
import type { DataPlaneCapabilities, ServiceNeeds } from '../dataplane/capabilities.js';
import { type MissingCapability, missingCapabilities } from '../dataplane/capabilities.js';
import type { Forwarding, TunnelEncapsulation } from '../dataplane/dataplane.js';
import { DATA_PLANE_KINDS, DATA_PLANE_TITLES, DATA_PLANES } from '../dataplane/registry.js';
import type { DataPlaneChoice, LbKind, VirtualServer, VirtualServerGroup } from './model.js';
import { type Reject, serviceTargets, usesFwmark } from './virtual-server-targets.js';

export function forwardingOf(kind: LbKind): Forwarding {
  return kind === 'NAT' ? 'nat' : kind === 'TUN' ? 'tun' : 'dr';
}

/** What `vs` asks of a data plane. Group problems are left to `serviceTargets`' reject. */
export function serviceNeeds(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
  reject: Reject,
): ServiceNeeds {
  const forwarding = new Set(vs.realServers.map((rs) => forwardingOf(rs.lbKind)));
  if (vs.sorryServer !== undefined) forwarding.add(forwardingOf(vs.sorryServer.lbKind));
  const tunnels = tunnelsOf(vs);
  return {
    protocol: vs.protocol,
    scheduler: vs.scheduler,
    forwarding,
    tunnelTypes: new Set(tunnels.map((t) => t.type)),
    tunnelChecksums: new Set(tunnels.flatMap((t) => (t.checksum !== 'nocsum' ? [t.checksum] : []))),
    fwmark: usesFwmark(vs, groups),
    allPorts: serviceTargets(vs, groups, reject).some(
      (t) => t.port === 0 && t.fwmark === undefined,
    ),
    realCount: vs.realServers.length + (vs.sorryServer !== undefined ? 1 : 0),
    connectionThresholds: vs.realServers.some(
      (rs) => rs.upperThreshold !== undefined || rs.lowerThreshold !== undefined,
    ),
  };
}

/** The encapsulations of its TUN reals and sorry server (those that name one). */
export function tunnelsOf(vs: VirtualServer): TunnelEncapsulation[] {
  return [...vs.realServers, ...(vs.sorryServer !== undefined ? [vs.sorryServer] : [])].flatMap(
    (s) => (s.tunnel !== undefined ? [s.tunnel] : []),
  );
}

export type DataPlaneVerdict =
  | { readonly ok: true; readonly plane: DataPlaneCapabilities }
  | {
      readonly ok: false;
      /** "the XDP data plane cannot run it: ..." */
      readonly message: string;
      /** The configuration field to point at, when one thing is to blame. */
      readonly field?: MissingCapability['field'];
    };

/** The data plane `choice` gives `vs`, or why none can run it. */
export function chooseDataPlane(
  needs: ServiceNeeds,
  choice: DataPlaneChoice,
  planes: readonly DataPlaneCapabilities[] = DATA_PLANES,
): DataPlaneVerdict {
  const kinds = choice === 'auto' ? DATA_PLANE_KINDS : [choice];
  const why: string[] = [];
  const fields = new Set<MissingCapability['field']>();
  for (const kind of kinds) {
    const plane = planes.find((p) => p.kind === kind);
    if (plane === undefined) {
      why.push(`${DATA_PLANE_TITLES[kind]} is not part of this lbctl`);
      continue;
    }
    const missing = missingCapabilities(plane, needs);
    if (missing.length === 0) return { ok: true, plane };
    for (const m of missing) fields.add(m.field);
    why.push(`${plane.title} cannot run it: ${missing.map((m) => m.message).join('; ')}`);
  }
  const field = fields.size === 1 ? [...fields][0] : undefined;
  return { ok: false, message: why.join(', and '), ...(field !== undefined ? { field } : {}) };
}
