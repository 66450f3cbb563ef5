import { hostname } from 'node:os';
import type {
  Config,
  VrrpInstance as ConfigInstance,
  TrackReference as ConfigTrackReference,
  ScriptCommand,
  VirtualIpAddress,
  VrrpNotify,
} from '../../config/model.js';
import { LbctlError } from '../../errors.js';
import type { VirtualRoute } from '../io.js';
import { VRRP_MULTICAST_IPV4, VRRP_MULTICAST_IPV6 } from '../io.js';
import type { NotifyCommands } from '../notify.js';
import type { TrackReference, VipOptions, VrrpInstanceOptions } from '../options.js';
import type { SmtpSettings } from '../smtp.js';
import type { SyncGroupOptions } from '../sync-group.js';
import type { TrackFileDefinition } from '../trackers/file-tracker.js';
import type { TrackScriptDefinition } from '../trackers/script-tracker.js';

/** The engine options a configuration describes (everything but clock and I/O). */
export interface ConfiguredVrrp {
  readonly instances: readonly VrrpInstanceOptions[];
  readonly syncGroups: readonly SyncGroupOptions[];
  readonly scripts: readonly TrackScriptDefinition[];
  readonly trackFiles: readonly TrackFileDefinition[];
  readonly routerId: string;
  readonly smtp?: SmtpSettings;
  /** Settings accepted but without effect, for the log. */
  readonly warnings: readonly string[];
}

function unsupported(what: string, reason: string): LbctlError {
  return new LbctlError('VRRP_UNSUPPORTED', `Cannot configure ${what}: ${reason}`);
}

/** Maps the configuration model onto the VRRP engine's options (keepalived semantics). */
export function vrrpOptionsFromConfig(config: Config): ConfiguredVrrp {
  const global = config.global;
  const warnings: string[] = [];
  if (global.mcastGroup4 !== VRRP_MULTICAST_IPV4 || global.mcastGroup6 !== VRRP_MULTICAST_IPV6) {
    throw unsupported(
      'VRRP',
      'only the standard multicast groups 224.0.0.18 and ff02::12 are supported',
    );
  }
  const routerId = global.routerId ?? hostname();
  const asScriptUser = (command: ScriptCommand): ScriptCommand =>
    command.user !== undefined || global.scriptUser === undefined
      ? command
      : {
          ...command,
          user: global.scriptUser,
          ...(global.scriptGroup === undefined ? {} : { group: global.scriptGroup }),
        };
  const notifyCommands = (notify: VrrpNotify, smtpAlert: boolean): NotifyCommands => ({
    ...(notify.master === undefined ? {} : { master: asScriptUser(notify.master) }),
    ...(notify.backup === undefined ? {} : { backup: asScriptUser(notify.backup) }),
    ...(notify.fault === undefined ? {} : { fault: asScriptUser(notify.fault) }),
    ...(notify.stop === undefined ? {} : { stop: asScriptUser(notify.stop) }),
    ...(notify.any === undefined ? {} : { generic: asScriptUser(notify.any) }),
    smtpAlert,
  });

  // keepalived applies a sync group's tracked objects to every member, always as FAULT trackers.
  const groupTracks = new Map<
    string,
    Pick<ConfigInstance, 'trackInterfaces' | 'trackScripts' | 'trackFiles'>
  >();
  for (const group of config.vrrpSyncGroups) {
    for (const member of group.instances) groupTracks.set(member, group);
  }

  const instances = config.vrrpInstances.map((instance): VrrpInstanceOptions => {
    const what = `VRRP instance ${instance.name}`;
    if (instance.interface === undefined) throw unsupported(what, 'no interface given');
    for (const peer of instance.unicastPeers) {
      if (peer.minTtl !== undefined || peer.maxTtl !== undefined) {
        warnings.push(`${what}: min_ttl/max_ttl of unicast_peer ${peer.address} are ignored`);
      }
    }
    const group = groupTracks.get(instance.name);
    const faultOnly = (refs: readonly ConfigTrackReference[]) =>
      refs.map((ref): ConfigTrackReference => ({ ...ref, weight: 0 }));
    const trackScripts = [...instance.trackScripts, ...faultOnly(group?.trackScripts ?? [])];
    const trackFiles = [...instance.trackFiles, ...faultOnly(group?.trackFiles ?? [])];
    const trackInterfaces = [
      ...instance.trackInterfaces,
      ...faultOnly(group?.trackInterfaces ?? []),
    ];
    const sourceIp = instance.unicastSrcIp ?? instance.mcastSrcIp;
    return {
      name: instance.name,
      interface: instance.interface,
      virtualRouterId: instance.virtualRouterId,
      priority: instance.priority,
      initialState: instance.state,
      version: instance.version,
      advertIntMs: instance.advertIntervalMs,
      nopreempt: !instance.preempt,
      trackPrimary: instance.trackPrimary,
      preemptDelayMs: instance.preemptDelayMs,
      ...(sourceIp === undefined ? {} : { sourceIp }),
      unicastPeers: instance.unicastPeers.map((peer) => peer.address),
      ...(instance.authentication === undefined
        ? {}
        : {
            authType: instance.authentication.type === 'PASS' ? 'pass' : 'ah',
            authPass: instance.authentication.password,
          }),
      vips: instance.virtualIpAddresses.map(vipOptions),
      excludedVips: instance.excludedVirtualIpAddresses.map(vipOptions),
      virtualRoutes: instance.virtualRoutes.map((route): VirtualRoute => {
        if (route.type !== 'unicast') {
          throw unsupported(
            what,
            `virtual route ${route.destination} of type ${route.type} is not supported`,
          );
        }
        return {
          destination: route.destination,
          ...(route.via === undefined ? {} : { via: route.via }),
          ...(route.dev === undefined ? {} : { dev: route.dev }),
          ...(route.src === undefined ? {} : { src: route.src }),
          ...(route.table === undefined ? {} : { table: route.table }),
          ...(route.metric === undefined ? {} : { metric: route.metric }),
          ...(route.scope === undefined ? {} : { scope: route.scope }),
        };
      }),
      garp: {
        masterDelayMs: instance.garp.masterDelayMs,
        masterRepeat: instance.garp.masterRepeat,
        masterRefreshMs: instance.garp.masterRefreshMs,
        masterRefreshRepeat: instance.garp.masterRefreshRepeat,
        intervalMs:
          instance.family === 'ipv6' ? instance.garp.naIntervalMs : instance.garp.intervalMs,
      },
      trackScripts: trackScripts.map(trackReference),
      trackFiles: trackFiles.map(trackReference),
      trackInterfaces: trackInterfaces.map((ref) => ({
        interface: ref.name,
        ...(ref.weight === undefined ? {} : { weight: ref.weight }),
        reverse: ref.reverse,
      })),
      notify: notifyCommands(instance.notify, instance.smtpAlert),
    };
  });

  const syncGroups = config.vrrpSyncGroups.map(
    (group): SyncGroupOptions => ({
      name: group.name,
      members: group.instances,
      notify: notifyCommands(group.notify, group.smtpAlert),
    }),
  );

  const scripts = config.vrrpScripts.map((script): TrackScriptDefinition => {
    const command = asScriptUser({
      command: script.script,
      ...(script.user === undefined ? {} : { user: script.user }),
      ...(script.group === undefined ? {} : { group: script.group }),
    });
    return {
      ...command,
      name: script.name,
      intervalMs: script.intervalMs,
      ...(script.timeoutMs === undefined ? {} : { timeoutMs: script.timeoutMs }),
      fall: script.fall,
      rise: script.rise,
      weight: script.weight,
      reverse: script.weightReverse,
      initFail: script.initFail,
    };
  });

  const trackFiles = config.trackFiles.map(
    (file): TrackFileDefinition => ({
      name: file.name,
      path: file.file,
      weight: file.weight,
      reverse: file.weightReverse,
    }),
  );

  const smtp: SmtpSettings | undefined =
    global.smtpServer === undefined || global.notificationEmail.length === 0
      ? undefined
      : {
          server: global.smtpServer.host,
          port: global.smtpServer.port,
          heloName: routerId,
          from: global.notificationEmailFrom ?? `keepalived@${hostname()}`,
          to: global.notificationEmail,
          timeoutMs: global.smtpConnectTimeoutMs,
        };
  if (smtp === undefined && config.vrrpInstances.some((i) => i.smtpAlert)) {
    warnings.push(
      'smtp_alert is set but smtp_server or notification_email is missing: no mail is sent',
    );
  }

  return {
    instances,
    syncGroups,
    scripts,
    trackFiles,
    routerId,
    ...(smtp === undefined ? {} : { smtp }),
    warnings,
  };
}

function vipOptions(vip: VirtualIpAddress): VipOptions {
  return {
    address: vip.address,
    prefixLength: vip.prefixLength,
    ...(vip.dev === undefined ? {} : { dev: vip.dev }),
    ...(vip.label === undefined ? {} : { label: vip.label }),
    ...(vip.scope === undefined ? {} : { scope: vip.scope }),
    ...(vip.broadcast === undefined ? {} : { broadcast: vip.broadcast }),
  };
}

function trackReference(ref: ConfigTrackReference): TrackReference {
  return {
    name: ref.name,
    ...(ref.weight === undefined ? {} : { weight: ref.weight }),
    reverse: ref.reverse,
  };
}
