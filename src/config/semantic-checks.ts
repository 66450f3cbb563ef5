import { protocolLabel } from '../dataplane/dataplane.js';
import { DATA_PLANES } from '../dataplane/registry.js';
import { chooseDataPlane, serviceNeeds } from './data-plane-choice.js';
import { ecmpFlowMoveWarning } from './ecmp-scheduling.js';
import type { Config, TrackReference, VirtualServerTarget } from './model.js';
import { checkVirtualServer } from './virtual-server-rules.js';

/** A document path (same keys as the YAML format) and what is wrong there. */
export interface PathIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export interface SemanticResult {
  readonly errors: PathIssue[];
  readonly warnings: PathIssue[];
}

function describeTarget(t: VirtualServerTarget): string {
  if (t.kind === 'address') {
    return t.family === 'ipv6' ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
  }
  return t.kind === 'fwmark' ? `fwmark ${t.fwmark}` : `group ${t.group}`;
}

/**
 * Cross-field checks that a schema cannot express. Interface existence is not
 * checked here: it depends on the host and is verified when lbctl starts.
 */
export function checkConfig(config: Config): SemanticResult {
  const errors: PathIssue[] = [];
  const warnings: PathIssue[] = [];
  const error = (path: (string | number)[], message: string) => errors.push({ path, message });
  const warn = (path: (string | number)[], message: string) => warnings.push({ path, message });

  const uniqueNames = (kind: string, key: string, names: readonly string[]) => {
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (seen.has(name)) error([key, i, 'name'], `${kind} '${name}' is defined more than once`);
      seen.add(name);
    });
  };
  uniqueNames(
    'vrrp script',
    'vrrpScripts',
    config.vrrpScripts.map((s) => s.name),
  );
  uniqueNames(
    'track file',
    'trackFiles',
    config.trackFiles.map((t) => t.name),
  );
  uniqueNames(
    'vrrp instance',
    'vrrpInstances',
    config.vrrpInstances.map((i) => i.name),
  );
  uniqueNames(
    'sync group',
    'vrrpSyncGroups',
    config.vrrpSyncGroups.map((g) => g.name),
  );
  uniqueNames(
    'virtual server group',
    'virtualServerGroups',
    config.virtualServerGroups.map((g) => g.name),
  );

  const sync = config.global.connectionSync;
  if (sync !== undefined && !config.vrrpInstances.some((i) => i.name === sync.vrrpInstance)) {
    error(
      ['global', 'connectionSync', 'vrrpInstance'],
      `connection sync follows vrrp instance '${sync.vrrpInstance}', which does not exist`,
    );
  }

  const scripts = new Set(config.vrrpScripts.map((s) => s.name));
  const files = new Set(config.trackFiles.map((t) => t.name));
  const checkRefs = (
    base: (string | number)[],
    scriptRefs: readonly TrackReference[],
    fileRefs: readonly TrackReference[],
  ) => {
    scriptRefs.forEach((ref, j) => {
      if (!scripts.has(ref.name))
        error(
          [...base, 'trackScripts', j, 'name'],
          `track script '${ref.name}' is not defined by any vrrp_script`,
        );
    });
    fileRefs.forEach((ref, j) => {
      if (!files.has(ref.name))
        error(
          [...base, 'trackFiles', j, 'name'],
          `track file '${ref.name}' is not defined by any track_file`,
        );
    });
  };

  const vrids = new Map<string, { index: number; peers: readonly string[] }[]>();
  config.vrrpInstances.forEach((inst, i) => {
    const at = (...rest: (string | number)[]) => ['vrrpInstances', i, ...rest];
    checkRefs(['vrrpInstances', i], inst.trackScripts, inst.trackFiles);

    if (inst.virtualIpAddresses.length === 0) {
      // keepalived 2.2.7 refuses this for version 3 and runs it (adverts without addresses) for 2.
      if (inst.version === 3) {
        error(
          at('virtualIpAddresses'),
          `vrrp instance '${inst.name}' has no virtual IP addresses; VRRP version 3 requires at least one`,
        );
      } else {
        warn(
          at('virtualIpAddresses'),
          `vrrp instance '${inst.name}' has no virtual IP addresses; its adverts carry none`,
        );
      }
    }
    inst.virtualIpAddresses.forEach((vip, j) => {
      if (vip.family !== inst.family) {
        error(
          at('virtualIpAddresses', j, 'address'),
          `${vip.address} is ${vip.family} but vrrp instance '${inst.name}' is ${inst.family}; put mixed families in excludedVirtualIpAddresses`,
        );
      }
    });
    if (inst.family === 'ipv6' && inst.version === 2) {
      error(at('version'), 'VRRP version 2 cannot carry IPv6 addresses; use version 3');
    }
    for (const [key, addr] of [
      ['unicastSrcIp', inst.unicastSrcIp],
      ['mcastSrcIp', inst.mcastSrcIp],
    ] as const) {
      if (addr !== undefined && !addr.includes(':') !== (inst.family === 'ipv4')) {
        error(at(key), `${addr} does not match the instance's address family (${inst.family})`);
      }
    }
    inst.unicastPeers.forEach((peer, j) => {
      if (peer.family !== inst.family) {
        error(
          at('unicastPeers', j, 'address'),
          `unicast peer ${peer.address} is ${peer.family} but the instance is ${inst.family}`,
        );
      }
      if (peer.address === inst.unicastSrcIp) {
        error(
          at('unicastPeers', j, 'address'),
          `unicast peer ${peer.address} is this node's own unicast source address`,
        );
      }
      if (peer.minTtl !== undefined && peer.maxTtl !== undefined && peer.minTtl > peer.maxTtl) {
        error(
          at('unicastPeers', j, 'minTtl'),
          `minTtl ${peer.minTtl} is greater than maxTtl ${peer.maxTtl}`,
        );
      }
    });
    if (inst.unicastSrcIp !== undefined && inst.unicastPeers.length === 0) {
      error(
        at('unicastSrcIp'),
        'unicastSrcIp is set but there are no unicast peers; add unicastPeers or use mcastSrcIp for multicast',
      );
    }
    if (
      inst.unicastPeers.length > 0 &&
      inst.mcastSrcIp !== undefined &&
      inst.unicastSrcIp === undefined
    ) {
      warn(
        at('mcastSrcIp'),
        'mcastSrcIp is used as the unicast source address because unicast peers are configured',
      );
    }
    if (inst.interface === undefined && inst.unicastPeers.length === 0) {
      error(
        at('interface'),
        `vrrp instance '${inst.name}' needs an interface (only unicast instances may omit it)`,
      );
    }
    if (inst.priority === 255 && !inst.preempt) {
      warn(
        at('preempt'),
        'priority 255 makes this node the address owner, which always preempts; nopreempt is ignored',
      );
    }
    if (!inst.preempt && inst.state === 'MASTER' && inst.priority !== 255) {
      warn(at('state'), 'nopreempt only works when the initial state is BACKUP');
    }
    // keepalived rounds or clamps these with a warning; lbctl refuses rather than change the timing.
    const advert = inst.advertIntervalMs;
    if (inst.version === 2 && (advert % 1000 !== 0 || advert > 255_000)) {
      error(
        at('advertIntervalMs'),
        `VRRP version 2 advertises in whole seconds from 1 to 255, not ${advert / 1000} s; use version 3 for finer intervals`,
      );
    } else if (inst.version === 3 && (advert % 10 !== 0 || advert > 40_950)) {
      error(
        at('advertIntervalMs'),
        `VRRP version 3 advertises every 0.01 to 40.95 s in 10 ms steps, not ${advert / 1000} s`,
      );
    }
    if (inst.authentication?.type === 'AH') {
      error(
        at('authentication', 'type'),
        'AH authentication is not supported by lbctl (RFC 3768 removed it); use PASS or none',
      );
    }
    inst.virtualRoutes.forEach((route, j) => {
      if (route.type !== 'unicast')
        error(
          at('virtualRoutes', j, 'destination'),
          `${route.type} routes are not supported by lbctl yet; only routes that forward (via/dev) are`,
        );
    });
    if (inst.authentication?.type === 'PASS' && inst.authentication.password.length > 8) {
      warn(
        at('authentication', 'password'),
        'only the first 8 characters of a PASS authentication password are used',
      );
    }
    if (inst.authentication !== undefined && inst.version === 3) {
      error(
        at('authentication'),
        'VRRP version 3 has no authentication; remove authentication or use version 2',
      );
    }

    const key = `${inst.interface ?? '(unicast)'}|${inst.family}`;
    const peers = inst.unicastPeers.map((p) => p.address);
    const others = vrids.get(`${key}|${inst.virtualRouterId}`) ?? [];
    for (const other of others) {
      const otherPeers = other.peers;
      const disjointUnicast =
        peers.length > 0 && otherPeers.length > 0 && !peers.some((p) => otherPeers.includes(p));
      if (!disjointUnicast) {
        const first = config.vrrpInstances[other.index];
        error(
          at('virtualRouterId'),
          `virtualRouterId ${inst.virtualRouterId} is already used on ${inst.interface ?? 'the unicast peers'} (${inst.family}) by vrrp instance '${first?.name}'`,
        );
        break;
      }
    }
    vrids.set(`${key}|${inst.virtualRouterId}`, [...others, { index: i, peers }]);
  });

  const instanceNames = new Set(config.vrrpInstances.map((i) => i.name));
  const groupOf = new Map<string, string>();
  config.vrrpSyncGroups.forEach((g, i) => {
    checkRefs(['vrrpSyncGroups', i], g.trackScripts, g.trackFiles);
    g.instances.forEach((name, j) => {
      if (!instanceNames.has(name)) {
        error(
          ['vrrpSyncGroups', i, 'instances', j],
          `sync group '${g.name}' names vrrp instance '${name}', which is not defined`,
        );
      } else if (groupOf.has(name)) {
        error(
          ['vrrpSyncGroups', i, 'instances', j],
          `vrrp instance '${name}' is already in sync group '${groupOf.get(name)}'`,
        );
      } else {
        groupOf.set(name, g.name);
      }
    });
  });

  const services = new Map<string, number>();
  const dataPlane = config.global.dataPlane;
  config.virtualServers.forEach((vs, i) => {
    const at = (...rest: (string | number)[]) => ['virtualServers', i, ...rest];
    const t = vs.target;
    const name = describeTarget(t);
    // Addresses, LVS rules and the data plane: the same check `lbctl up` refuses on.
    const check = checkVirtualServer(vs, config.virtualServerGroups, dataPlane);
    for (const p of check.problems) error(at(...p.path), p.message);
    if (check.unrunnable !== undefined) {
      warn(
        at(...check.unrunnable.path),
        `lbctl up leaves this virtual server out: ${check.unrunnable.message}`,
      );
    } else if (
      dataPlane === 'auto' &&
      check.plane !== undefined &&
      check.plane !== DATA_PLANES[0]
    ) {
      // auto falls back for this service: say which data plane `up` uses and why.
      const verdict = chooseDataPlane(
        serviceNeeds(vs, config.virtualServerGroups, () => undefined as never),
        DATA_PLANES[0]!.kind,
      );
      warn(
        at(...(verdict.ok || verdict.field === undefined ? [] : [verdict.field])),
        `lbctl up runs this virtual server on ${check.plane.title}` +
          (verdict.ok ? '' : ` (${verdict.message})`) +
          '; it needs the ip_vs kernel module',
      );
    }
    const moves = ecmpFlowMoveWarning(
      vs,
      config.global,
      config.global.connectionSync !== undefined,
    );
    if (moves !== undefined) warn(at('scheduler'), `virtual server ${name} is ${moves}`);
    const serviceKey = `${vs.protocol} ${name}`;
    const previous = services.get(serviceKey);
    if (previous !== undefined) {
      error(
        at(t.kind === 'group' ? 'group' : t.kind === 'fwmark' ? 'fwmark' : 'address'),
        `virtual server ${protocolLabel(vs.protocol)} ${name} is defined more than once (first at virtual server #${previous + 1})`,
      );
    } else {
      services.set(serviceKey, i);
    }
    const seenReals = new Set<string>();
    vs.realServers.forEach((rs, j) => {
      const rsAt = (...rest: (string | number)[]) => at('realServers', j, ...rest);
      const key = `${rs.address}|${rs.port}`;
      if (seenReals.has(key)) {
        error(
          rsAt('address'),
          `real server ${rs.address} port ${rs.port} appears more than once in virtual server ${name}`,
        );
      }
      seenReals.add(key);
    });
    if (vs.realServers.length === 0 && vs.sorryServer === undefined) {
      warn(at('realServers'), `virtual server ${name} has no real servers`);
    }
  });

  return { errors, warnings };
}
