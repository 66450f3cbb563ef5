/**
 * Everything that decides whether a virtual server can run, in one pass:
 * its addresses (group expansion), persistence granularity, the LVS rules
 * between the service and its reals (src/dataplane/service-rules.ts), and
 * the data plane that will carry it (src/config/data-plane-choice.ts).
 * `lbctl validate` reports the problems with their paths; `lbctl up` refuses
 * to start on the same list, so the two never disagree.
 */
import type { DataPlaneCapabilities } from '../dataplane/capabilities.js';
import { realViolations, servicePortViolation, tunnelProblem } from '../dataplane/service-rules.js';
import { chooseDataPlane, forwardingOf, serviceNeeds } from './data-plane-choice.js';
import type { DataPlaneChoice, VirtualServer, VirtualServerGroup } from './model.js';
import { prefixLengthOf, type ServiceTarget, serviceTargets } from './virtual-server-targets.js';

/** A problem and where it is, relative to the virtual server (YAML keys). */
export interface VirtualServerProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export interface VirtualServerCheck {
  /** Errors: `lbctl validate` fails and `lbctl up` refuses to start. */
  readonly problems: readonly VirtualServerProblem[];
  /**
   * With `dataPlane: auto`, why no data plane of this lbctl can run it: not an
   * error, `lbctl up` leaves this virtual server out (logging why, as keepalived
   * does when IPVS refuses a service) and `lbctl validate` warns exactly that.
   * With an explicit data plane the same reason is a problem instead.
   */
  readonly unrunnable?: VirtualServerProblem;
  /** The data plane that runs it (absent when none can). */
  readonly plane?: DataPlaneCapabilities;
  readonly targets: readonly ServiceTarget[];
}

class TargetProblem extends Error {}

/** Where a tunnel a data plane cannot do is configured: the first server with a non-IPIP one. */
function tunnelPath(vs: VirtualServer): (string | number)[] {
  const plain = (t: { type: string; checksum: string } | undefined) =>
    t === undefined || (t.type === 'ipip' && t.checksum === 'nocsum');
  const j = vs.realServers.findIndex((rs) => !plain(rs.tunnel));
  if (j >= 0) return ['realServers', j, 'tunnel'];
  return vs.sorryServer !== undefined && !plain(vs.sorryServer.tunnel)
    ? ['sorryServer', 'tunnel']
    : ['lbKind'];
}

export function checkVirtualServer(
  vs: VirtualServer,
  groups: readonly VirtualServerGroup[],
  choice: DataPlaneChoice,
): VirtualServerCheck {
  const problems: VirtualServerProblem[] = [];
  const problem = (path: (string | number)[], message: string) => problems.push({ path, message });
  const t = vs.target;
  const targetField = t.kind === 'group' ? 'group' : t.kind === 'fwmark' ? 'fwmark' : 'port';
  const reject = (reason: string): never => {
    throw new TargetProblem(reason);
  };

  let targets: ServiceTarget[] = [];
  let plane: DataPlaneCapabilities | undefined;
  let unrunnable: VirtualServerProblem | undefined;
  try {
    targets = serviceTargets(vs, groups, reject);
    const verdict = chooseDataPlane(serviceNeeds(vs, groups, reject), choice);
    if (verdict.ok) plane = verdict.plane;
    else {
      const path =
        verdict.field === 'tunnel'
          ? tunnelPath(vs)
          : verdict.field === undefined
            ? []
            : [verdict.field];
      if (choice === 'auto') unrunnable = { path, message: verdict.message };
      else problem(path, verdict.message);
    }
  } catch (err) {
    if (!(err instanceof TargetProblem)) throw err;
    problem([targetField], err.message);
  }

  const persistent = vs.persistenceTimeoutMs !== undefined;
  const granularity = vs.persistenceGranularity;
  for (const target of targets) {
    const what =
      t.kind === 'group'
        ? `virtual_server_group ${t.group} address ${target.address}`
        : `virtual server ${target.address}`;
    // A mark matches every port: no port rule applies to it.
    const port =
      target.fwmark === undefined ? servicePortViolation(target.port, persistent, what) : undefined;
    if (port !== undefined) problem([targetField], port.message);
    if (granularity !== undefined) {
      try {
        prefixLengthOf(granularity, target.family, reject);
      } catch (err) {
        if (!(err instanceof TargetProblem)) throw err;
        problem(['persistenceGranularity'], err.message);
        break;
      }
    }
  }

  // A group's addresses may differ in family and port: those rules apply per address only.
  const service = {
    family: t.kind === 'group' ? undefined : t.family,
    port: t.kind === 'address' ? t.port : 0,
    fwmark: t.kind === 'fwmark',
  };
  vs.realServers.forEach((rs, j) => {
    const real = {
      family: rs.family,
      port: rs.port,
      forwarding: forwardingOf(rs.lbKind),
      what: `real server ${rs.address} port ${rs.port}`,
    };
    for (const v of realViolations(service, real)) problem(['realServers', j, v.field], v.message);
    const tunnel = rs.tunnel && tunnelProblem(rs.tunnel, real.forwarding);
    if (tunnel) problem(['realServers', j, 'tunnel'], `${real.what}: ${tunnel}`);
  });
  const sorry = vs.sorryServer;
  if (sorry !== undefined) {
    const real = {
      family: sorry.family,
      port: sorry.port,
      forwarding: forwardingOf(sorry.lbKind),
      what: `sorry server ${sorry.address} port ${sorry.port}`,
    };
    for (const v of realViolations(service, real)) problem(['sorryServer', v.field], v.message);
    const tunnel = sorry.tunnel && tunnelProblem(sorry.tunnel, real.forwarding);
    if (tunnel) problem(['sorryServer', 'tunnel'], `${real.what}: ${tunnel}`);
  }
  return {
    problems,
    targets,
    ...(plane !== undefined ? { plane } : {}),
    ...(unrunnable !== undefined ? { unrunnable } : {}),
  };
}
