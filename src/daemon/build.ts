import type { Config } from '../config/model.js';
import { ControlServer } from '../control/server.js';
import { controlSocketPath } from '../control/socket-path.js';
import type { Logger } from '../log.js';
import type { MetricsSources } from '../metrics/collectors.js';
import { MetricsService } from '../metrics/metrics-service.js';
import { KernelAnnouncedRoutes } from '../netlink/announced-routes.js';
import { type HostNetwork, KernelHostNetwork } from '../netlink/host-network.js';
import type { Service } from '../service.js';
import type { Clock } from '../time/clock.js';
import { announceSources } from './announce-sources.js';
import { BgpService } from './bgp-service.js';
import { ConnectionSyncService } from './connection-sync-service.js';
import { controlHandlers } from './control-handlers.js';
import { type DataPlaneFactory, systemDataPlanes } from './data-plane-factory.js';
import type { ReloadOutcome } from './reload.js';
import { SchedulingService } from './scheduling-service.js';
import { VirtualServerService } from './virtual-server-service.js';
import type { VrrpRunner } from './vrrp-runner.js';
import { VrrpService } from './vrrp-service.js';
import { VrrpThread, type VrrpThreadOptions } from './vrrp-thread.js';

export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The control socket: its directory and the daemon's reload. */
  readonly control?: { readonly runDir: string; readonly reload: () => Promise<ReloadOutcome> };
  /** The virtual servers' host network; by default the kernel's (tests: in memory). */
  readonly openHost?: () => Promise<HostNetwork>;
  /** The virtual servers' data planes; by default the system's (tests: in memory). */
  readonly dataPlanes?: DataPlaneFactory;
  /**
   * Run VRRP (and the scheduling settings, which are its thread's) on a
   * thread of its own, as `lbctl up` does; without it VRRP shares the main
   * thread (tests with a clock of their own).
   */
  readonly vrrpThread?: Pick<VrrpThreadOptions, 'log' | 'onFailure'>;
}

/** The services of a daemon, and where its live state is read (metrics, dumps). */
export interface DaemonParts {
  /** In start order. */
  readonly services: Service[];
  /** In the order they close at shutdown (the Daemon's stopOrder). */
  readonly stopOrder: Service[];
  readonly sources: MetricsSources;
}

/**
 * The services `lbctl up` runs for a configuration, in start order: metrics
 * first, since binding its port can fail and changes nothing anyone sees
 * (a busy port must stop the start before VRRP announces anything; it reads
 * the others lazily); then VRRP, so virtual servers with ha_suspend can
 * follow its states (its instances wait in INIT until the virtual servers'
 * data plane forwards); then virtual servers; connection sync, which needs both;
 * the control socket once everything it answers for runs; the VRRP thread's
 * scheduling last.
 */
export function buildServices(context: ServiceContext): DaemonParts {
  // Scheduling starts last, once the data plane's program is loaded: without a
  // VRRP thread the settings are the main thread's, where the kernel's verifier
  // runs for hundreds of milliseconds inside one system call, a run past
  // vrrp_rlimit_rttime under realtime scheduling. It closes first.
  const services: Service[] = [];
  let metrics: MetricsService | undefined;
  const vrrp = context.config.vrrpInstances.length > 0 ? vrrpRunner(context) : undefined;
  if (vrrp !== undefined) services.push(vrrp);
  const scheduling =
    vrrp instanceof VrrpThread
      ? vrrp.scheduling
      : new SchedulingService(context.config.global.scheduling, context.logger);
  const virtualServers =
    context.config.virtualServers.length > 0
      ? new VirtualServerService({
          ...context,
          ...(vrrp !== undefined ? { instanceStates: vrrp } : {}),
          openHost: context.openHost ?? (() => KernelHostNetwork.open(context.logger)),
          dataPlanes: context.dataPlanes ?? systemDataPlanes,
          ...(context.control !== undefined ? { runDir: context.control.runDir } : {}),
        })
      : undefined;
  if (virtualServers !== undefined) services.push(virtualServers);
  // keepalived-like: the data plane is a tracked object of every VRRP instance. Until the
  // virtual servers have started it is `starting`, and every instance waits in INIT.
  if (vrrp !== undefined && virtualServers !== undefined) vrrp.trackDataPlane(virtualServers);
  const bgp = context.config.global.bgp;
  // After the virtual servers: announced once they serve, withdrawn before they stop.
  const announcer =
    bgp !== undefined && virtualServers !== undefined
      ? new BgpService({
          settings: bgp,
          logger: context.logger,
          clock: context.clock,
          sources: announceSources(virtualServers, vrrp, context.config),
          openRoutes: (table) => new KernelAnnouncedRoutes(table),
        })
      : undefined;
  if (announcer !== undefined) services.push(announcer);
  const syncSettings = context.config.global.connectionSync;
  const connectionSync =
    syncSettings !== undefined && vrrp !== undefined && virtualServers !== undefined
      ? new ConnectionSyncService({
          settings: syncSettings,
          clock: context.clock,
          logger: context.logger,
          vrrp,
          dataPlane: () => virtualServers.dataPlane,
        })
      : undefined;
  if (connectionSync !== undefined) services.push(connectionSync);
  const sources: MetricsSources = {
    vrrp: () => vrrp?.engineView(),
    dataPlane: () => virtualServers?.dataPlane,
    dataPlaneSupervision: () => virtualServers?.dataPlaneSupervision,
    virtualServers: () => virtualServers?.virtualServerStates() ?? [],
    connectionSync: () => connectionSync?.counters(),
    scheduling: () => scheduling.reading(),
  };
  const listen = context.config.global.metricsListen;
  if (listen !== undefined) metrics = new MetricsService(listen, sources, context.logger);
  const control = context.control;
  let controlServer: ControlServer | undefined;
  if (control !== undefined) {
    const instance = context.config.global.instanceName;
    controlServer = new ControlServer({
      path: controlSocketPath(instance, control.runDir),
      logger: context.logger,
      handlers: controlHandlers({ instance, vrrp, virtualServers, reload: control.reload }),
    });
    services.push(controlServer);
  }
  // The reverse of the start order but for VRRP, which stops before the virtual servers
  // (keepalived signals its VRRP process before its checker process): masters send
  // priority 0 and release the VIPs while the data plane still forwards, and only then
  // are IPVS services removed or XDP detached. The other way round, packets still
  // reaching this host for a VIP it holds would meet its own stack, which resets them.
  const stopOrder: (Service | undefined)[] = [
    controlServer,
    connectionSync,
    announcer,
    vrrp,
    virtualServers,
    metrics,
  ];
  return {
    services: [...(metrics === undefined ? [] : [metrics]), ...services, scheduling],
    stopOrder: [scheduling, ...stopOrder.filter((s): s is Service => s !== undefined)],
    sources,
  };
}

/** VRRP on its own thread when the context asks for it (lbctl up), else on this one. */
function vrrpRunner(context: ServiceContext): VrrpRunner {
  const { vrrpThread } = context;
  return vrrpThread === undefined
    ? new VrrpService(context)
    : new VrrpThread({ config: context.config, logger: context.logger, ...vrrpThread });
}
