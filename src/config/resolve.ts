import { familyOf, splitPrefix } from './address.js';
import type {
  AddressFamily,
  Checker,
  Config,
  ConnectionSyncConfig,
  LbKind,
  RealServer,
  ScriptCommand,
  StatusCodeRange,
  TunnelEncapsulation,
  VirtualIpAddress,
  VirtualServer,
  VirtualServerGroupEntry,
  VirtualServerTarget,
  VrrpInstance,
  VrrpNotify,
} from './model.js';
import { deepFreeze } from './model.js';
import {
  type ConfigDocument,
  type DocumentChecker,
  PROTOCOL_KEYWORDS,
  STATUS_CODE_PATTERN,
} from './schema.js';

/** keepalived's documented checker defaults. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

type DocVirtualServer = ConfigDocument['virtualServers'][number];
type DocRealServer = DocVirtualServer['realServers'][number];
type DocInstance = ConfigDocument['vrrpInstances'][number];

/** `T` with keys that may hold undefined turned into truly optional keys. */
type Compact<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Drops keys whose value is undefined, so optional fields are absent rather than undefined. */
function compact<T extends object>(value: T): Compact<T> {
  const out: Record<string, unknown> = {};
  // for-in rather than Object.entries: no [key, value] pair per field on large configs.
  for (const key in value) {
    const v = value[key];
    if (v !== undefined) out[key] = v;
  }
  return out as Compact<T>;
}

/** The type of `compact({ ...base, ...overrides })`, for each member of a union `B`. */
type Overlaid<B, O> = B extends unknown ? Compact<Omit<B, keyof O> & O> : never;

/**
 * `compact({ ...base, ...overrides })` without building the spread first: one
 * object per call instead of two (it runs for every checker of every real server).
 */
function overlay<B extends object, O extends object>(base: B, overrides: O): Overlaid<B, O> {
  const out: Record<string, unknown> = {};
  const over = overrides as Record<string, unknown>;
  for (const key in base) {
    const v = key in over ? over[key] : base[key];
    if (v !== undefined) out[key] = v;
  }
  for (const key in over) {
    const v = over[key];
    if (v !== undefined && !(key in base)) out[key] = v;
  }
  return out as Overlaid<B, O>;
}

type DocCommand = { command: string; user?: string | undefined; group?: string | undefined };

function command(c: DocCommand | undefined): ScriptCommand | undefined {
  return c && compact({ command: c.command, user: c.user, group: c.group });
}

function notifyOf(n: { [K in keyof VrrpNotify]?: DocCommand | undefined }): VrrpNotify {
  return compact({
    master: command(n.master),
    backup: command(n.backup),
    fault: command(n.fault),
    stop: command(n.stop),
    any: command(n.any),
  });
}

function virtualIp(vip: DocInstance['virtualIpAddresses'][number]): VirtualIpAddress {
  const { address, prefixLength, family } = splitPrefix(vip.address);
  return compact({
    address,
    family,
    prefixLength,
    dev: vip.dev,
    label: vip.label,
    scope: vip.scope,
    broadcast: vip.broadcast,
  });
}

function instanceFamily(doc: DocInstance): AddressFamily {
  const first = doc.virtualIpAddresses[0];
  if (first) return splitPrefix(first.address).family;
  const src = doc.unicastSrcIp ?? doc.mcastSrcIp ?? doc.unicastPeers[0]?.address;
  return (src && familyOf(src)) || 'ipv4';
}

function resolveInstance(doc: DocInstance, global: ConfigDocument['global']): VrrpInstance {
  const family = instanceFamily(doc);
  return compact({
    name: doc.name,
    // keepalived: an address owner (priority 255) always starts as master.
    state: doc.priority === 255 ? 'MASTER' : doc.state,
    interface: doc.interface,
    virtualRouterId: doc.virtualRouterId,
    priority: doc.priority,
    advertIntervalMs: doc.advertIntervalMs,
    version: doc.version ?? (family === 'ipv6' ? 3 : global.vrrpVersion),
    family,
    preempt: doc.preempt,
    trackPrimary: doc.trackPrimary,
    preemptDelayMs: doc.preemptDelayMs,
    unicastSrcIp: doc.unicastSrcIp,
    unicastPeers: doc.unicastPeers.map((p) =>
      compact({
        address: p.address,
        family: familyOf(p.address) ?? 'ipv4',
        minTtl: p.minTtl,
        maxTtl: p.maxTtl,
      }),
    ),
    mcastSrcIp: doc.mcastSrcIp,
    authentication: doc.authentication,
    virtualIpAddresses: doc.virtualIpAddresses.map(virtualIp),
    excludedVirtualIpAddresses: doc.excludedVirtualIpAddresses.map(virtualIp),
    virtualRoutes: doc.virtualRoutes.map((r) =>
      compact({ ...r, family: splitPrefix(r.destination).family }),
    ),
    trackInterfaces: doc.trackInterfaces.map((t) => compact({ ...t })),
    trackScripts: doc.trackScripts.map((t) => compact({ ...t })),
    trackFiles: doc.trackFiles.map((t) => compact({ ...t })),
    notify: notifyOf(doc.notify),
    smtpAlert: doc.smtpAlert ?? global.smtpAlert,
    garp: {
      masterDelayMs: doc.garp?.masterDelayMs ?? global.garp.masterDelayMs,
      masterRepeat: doc.garp?.masterRepeat ?? global.garp.masterRepeat,
      masterRefreshMs: doc.garp?.masterRefreshMs ?? global.garp.masterRefreshMs,
      masterRefreshRepeat: doc.garp?.masterRefreshRepeat ?? global.garp.masterRefreshRepeat,
      intervalMs: doc.garp?.intervalMs ?? global.garp.intervalMs,
      naIntervalMs: doc.garp?.naIntervalMs ?? global.garp.naIntervalMs,
    },
    accept: doc.accept,
  });
}

/** Parses status code items (200, '200-299') into inclusive ranges. */
export function statusRanges(codes: readonly (string | number)[]): StatusCodeRange[] {
  return codes.map((code) => {
    const m = STATUS_CODE_PATTERN.exec(String(code));
    const from = Number(m?.[1]);
    return { from, to: m?.[2] !== undefined ? Number(m[2]) : from };
  });
}

function resolveChecker(c: DocumentChecker, rs: DocRealServer, vs: DocVirtualServer): Checker {
  const delayLoopMs = c.delayLoopMs ?? rs.delayLoopMs ?? vs.delayLoopMs;
  const retryDefault = c.type === 'DNS_CHECK' ? 3 : c.type === 'MISC_CHECK' ? 0 : 1;
  const delayBeforeRetryDefault =
    c.type === 'DNS_CHECK'
      ? delayLoopMs
      : c.type === 'HTTP_GET' || c.type === 'SSL_GET'
        ? 3000
        : 1000;
  const retry = c.retry ?? rs.retry ?? vs.retry ?? retryDefault;
  const delayBeforeRetryMs =
    c.delayBeforeRetryMs ??
    rs.delayBeforeRetryMs ??
    vs.delayBeforeRetryMs ??
    delayBeforeRetryDefault;
  const warmupMs = c.warmupMs ?? rs.warmupMs ?? vs.warmupMs ?? delayLoopMs;
  // One object of overrides per checker (there is one per real server, or more).
  if (c.type === 'MISC_CHECK') {
    return overlay(c, { retry, delayBeforeRetryMs, warmupMs, delayLoopMs });
  }
  const connectTimeoutMs =
    c.connectTimeoutMs ?? rs.connectTimeoutMs ?? vs.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  switch (c.type) {
    case 'HTTP_GET':
    case 'SSL_GET':
      return overlay(c, {
        retry,
        delayBeforeRetryMs,
        warmupMs,
        delayLoopMs,
        connectTimeoutMs,
        virtualhost: c.virtualhost ?? rs.virtualhost ?? vs.virtualhost,
        urls: c.urls.map((u) =>
          compact({
            path: u.path,
            digest: u.digest,
            statusCodes: statusRanges(u.statusCodes ?? ['200-299']),
            virtualhost: u.virtualhost,
          }),
        ),
      });
    default:
      return overlay(c, { retry, delayBeforeRetryMs, warmupMs, delayLoopMs, connectTimeoutMs });
  }
}

function resolveTarget(vs: DocVirtualServer): VirtualServerTarget {
  if (vs.address !== undefined) {
    return {
      kind: 'address',
      address: vs.address,
      family: familyOf(vs.address) ?? 'ipv4',
      port: vs.port ?? 0,
    };
  }
  if (vs.fwmark !== undefined) {
    const first = vs.realServers[0]?.address;
    const family = vs.family ?? (first !== undefined ? familyOf(first) : undefined) ?? 'ipv4';
    return { kind: 'fwmark', fwmark: vs.fwmark, family };
  }
  return { kind: 'group', group: vs.group ?? '' };
}

type DocTunnel = NonNullable<DocVirtualServer['tunnel']>;

/** A TUN server's encapsulation (its own, else the virtual server's); none for DR and NAT. */
function tunnelOf(kind: LbKind, tunnel: DocTunnel | undefined): TunnelEncapsulation | undefined {
  if (kind !== 'TUN' || tunnel === undefined) return undefined;
  return compact({ type: tunnel.type, port: tunnel.port, checksum: tunnel.checksum });
}

/** `{ [key]: value }` when value is defined, else nothing: for spreading into nested objects. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function resolveRealServer(rs: DocRealServer, vs: DocVirtualServer): RealServer {
  return compact({
    address: rs.address,
    family: familyOf(rs.address) ?? 'ipv4',
    port: rs.port ?? vs.port ?? 0,
    weight: rs.weight,
    lbKind: rs.lbKind ?? vs.lbKind,
    tunnel: tunnelOf(rs.lbKind ?? vs.lbKind, rs.tunnel ?? vs.tunnel),
    inhibitOnFailure: rs.inhibitOnFailure ?? vs.inhibitOnFailure,
    // 0 is keepalived's and ipvsadm's "no threshold".
    upperThreshold: rs.upperThreshold || undefined,
    lowerThreshold: rs.lowerThreshold || undefined,
    notifyUp: command(rs.notifyUp),
    notifyDown: command(rs.notifyDown),
    virtualhost: rs.virtualhost ?? vs.virtualhost,
    checkers: rs.checkers.map((c) => resolveChecker(c, rs, vs)),
  });
}

function resolveVirtualServer(
  vs: DocVirtualServer,
  global: ConfigDocument['global'],
): VirtualServer {
  return compact({
    target: resolveTarget(vs),
    protocol: PROTOCOL_KEYWORDS[vs.protocol],
    scheduler: vs.scheduler,
    hashSourcePort: vs.hashSourcePort,
    schedulerFallback: vs.schedulerFallback,
    lbKind: vs.lbKind,
    delayLoopMs: vs.delayLoopMs,
    persistenceTimeoutMs: vs.persistenceTimeoutMs,
    persistenceGranularity: vs.persistenceGranularity,
    virtualhost: vs.virtualhost,
    sorryServer: vs.sorryServer && {
      address: vs.sorryServer.address,
      family: familyOf(vs.sorryServer.address) ?? 'ipv4',
      port: vs.sorryServer.port ?? vs.port ?? 0,
      lbKind: vs.sorryServer.lbKind ?? vs.lbKind,
      ...optional(
        'tunnel',
        tunnelOf(vs.sorryServer.lbKind ?? vs.lbKind, vs.sorryServer.tunnel ?? vs.tunnel),
      ),
      inhibit: vs.sorryServer.inhibit,
    },
    quorum: vs.quorum,
    hysteresis: vs.hysteresis,
    quorumUp: command(vs.quorumUp),
    quorumDown: command(vs.quorumDown),
    alpha: vs.alpha,
    omega: vs.omega,
    inhibitOnFailure: vs.inhibitOnFailure,
    haSuspend: vs.haSuspend,
    bgpAnnounce: vs.bgpAnnounce,
    smtpAlert: vs.smtpAlert ?? global.smtpAlert,
    realServers: vs.realServers.map((rs) => resolveRealServer(rs, vs)),
  });
}

function resolveGroupEntry(
  e: ConfigDocument['virtualServerGroups'][number]['entries'][number],
): VirtualServerGroupEntry {
  if ('fwmark' in e)
    return compact({ kind: 'fwmark' as const, fwmark: e.fwmark, family: e.family });
  if ('range' in e) {
    const [first = '', lastPart = ''] = e.range.split('-');
    const family = familyOf(first) ?? 'ipv4';
    // "192.168.200.1-10" names only the last component of the end address.
    const separator = family === 'ipv4' ? '.' : ':';
    const last = familyOf(lastPart)
      ? lastPart
      : `${first.slice(0, first.lastIndexOf(separator) + 1)}${lastPart}`;
    return compact({ kind: 'range' as const, first, last, family, port: e.port });
  }
  return compact({
    kind: 'address' as const,
    address: e.address,
    family: familyOf(e.address) ?? 'ipv4',
    port: e.port,
  });
}

/** keepalived's defaults: the sync id is the instance's VRID, the group IPVS's 224.0.0.81. */
function resolveConnectionSync(
  sync: NonNullable<ConfigDocument['global']['connectionSync']>,
  doc: ConfigDocument,
): ConnectionSyncConfig {
  const instance = doc.vrrpInstances.find((i) => i.name === sync.vrrpInstance);
  return compact({
    ...sync,
    syncId: sync.syncId ?? instance?.virtualRouterId ?? 0,
    group: sync.group ?? '224.0.0.81',
  });
}

/** Fills in inherited values and derived fields; the result is deep-frozen. */
export function resolveConfig(doc: ConfigDocument): Config {
  const g = doc.global;
  return deepFreeze(
    compact({
      global: compact({
        ...g,
        connectionTimeouts: compact({ ...g.connectionTimeouts }),
        scheduling: compact({ ...g.scheduling }),
        bgp: g.bgp && { ...g.bgp },
        connectionSync: g.connectionSync && resolveConnectionSync(g.connectionSync, doc),
      }),
      ssl: doc.ssl && compact({ ...doc.ssl }),
      vrrpScripts: doc.vrrpScripts.map((s) => compact({ ...s })),
      trackFiles: doc.trackFiles.map((t) => ({ ...t })),
      vrrpSyncGroups: doc.vrrpSyncGroups.map((sg) =>
        compact({
          name: sg.name,
          instances: sg.instances,
          trackInterfaces: sg.trackInterfaces.map((t) => compact({ ...t })),
          trackScripts: sg.trackScripts.map((t) => compact({ ...t })),
          trackFiles: sg.trackFiles.map((t) => compact({ ...t })),
          notify: notifyOf(sg.notify),
          smtpAlert: sg.smtpAlert ?? g.smtpAlert,
        }),
      ),
      vrrpInstances: doc.vrrpInstances.map((i) => resolveInstance(i, g)),
      virtualServerGroups: doc.virtualServerGroups.map((vsg) => ({
        name: vsg.name,
        entries: vsg.entries.map(resolveGroupEntry),
      })),
      virtualServers: doc.virtualServers.map((vs) => resolveVirtualServer(vs, g)),
    }),
  );
}
