import { isIPv6 } from 'node:net';
import { RawIcmpEchoer } from '../checkers/raw-icmp-echoer.js';
import { CheckScheduler } from '../checkers/scheduler.js';
import type { Config, VirtualServer, VrrpInstance } from '../config/model.js';
import { type DataPlane, DEFAULT_TIMEOUTS, type Timeouts } from '../dataplane/dataplane.js';
import type { TunnelOptions } from '../dataplane/xdp/xdp-dataplane.js';
import { LbctlError } from '../errors.js';
import type { DesiredServiceState } from '../health/desired-state.js';
import { ProcessScriptRunner } from '../health/script-runner.js';
import { VirtualServerMonitor } from '../health/virtual-server-monitor.js';
import type { Logger } from '../log.js';
import { canonicalAddress } from '../net/address.js';
import type { HostNetwork, InterfaceAddress } from '../netlink/host-network.js';
import { desiredServices, type LocalAddressTest } from '../reconcile/desired-services.js';
import { healthOptions, readTlsMaterial } from '../reconcile/health-options.js';
import { HostNextHops } from '../reconcile/host-next-hops.js';
import { UnsupportedServiceError } from '../reconcile/reconcile-error.js';
import { Reconciler } from '../reconcile/reconciler.js';
import {
  type MappedVirtualServer,
  mapVirtualServer,
  virtualServerName,
} from '../reconcile/service-mapping.js';
import type { Clock } from '../time/clock.js';
import type { DataPlaneFactory } from './data-plane-factory.js';
import type { InstanceStateSource } from './instance-state-source.js';
import type { Service } from './service.js';

export interface VirtualServerServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  /** VRRP states for ha_suspend; without it every instance counts as MASTER. */
  readonly instanceStates?: InstanceStateSource;
  /**
   * Opens the host's network (links, addresses, routes, neighbours) at start;
   * closed at stop. `lbctl up`: KernelHostNetwork.open; tests: a MemoryHostNetwork.
   */
  readonly openHost: () => Promise<HostNetwork>;
  /** Opens the data plane chosen for the services (systemDataPlanes, or an in-memory one). */
  readonly dataPlanes: DataPlaneFactory;
}

/** Map sizes grow in steps, so a restart with a few more services can reuse pinned maps. */
const SERVICE_STEP = 64;
const REAL_STEP = 4096;
const roundUp = (n: number, step: number) => Math.max(step, Math.ceil(n / step) * step);

/**
 * The LVS half of lbctl: runs the health checks of every virtual server and
 * keeps the data plane equal to what they conclude. Starts by mapping the
 * whole configuration (refusing what no data plane can run, by the same
 * check `lbctl validate` makes), reads the host once to pick the interfaces
 * to attach to, opens the data plane through the injected factory, then
 * applies the initial state before checks begin. Closing stops the checks
 * (running omega scripts) and destroys the data plane (XDP: detach, unpin).
 *
 * Public surface: start/close (the Service lifecycle), `dataPlane` (counters)
 * and `virtualServerStates()`. Every change reaches the data plane through
 * the Reconciler (src/reconcile/reconciler.ts), whose `set(owner, services)`
 * replaces one owner's services and applies only the difference: that is
 * the entry point for applying a new configuration or a runtime weight.
 */
export class VirtualServerService implements Service {
  readonly name = 'virtual-servers';
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly instanceStates: InstanceStateSource | undefined;
  private readonly openHost: () => Promise<HostNetwork>;
  private readonly dataPlanes: DataPlaneFactory;
  private host: HostNetwork | undefined;
  private plane: DataPlane | undefined;
  private scheduler: CheckScheduler | undefined;
  private reconciler: Reconciler | undefined;
  private nextHops: HostNextHops | undefined;
  private echoer: RawIcmpEchoer | undefined;
  private readonly monitors: VirtualServerMonitor[] = [];
  /** The configured virtual servers that run (index-aligned with `monitors`). */
  private running: readonly VirtualServer[] = [];
  private readonly unsubscribes: (() => void)[] = [];

  constructor(options: VirtualServerServiceOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ component: 'virtual-servers' });
    this.clock = options.clock;
    this.instanceStates = options.instanceStates;
    this.openHost = options.openHost;
    this.dataPlanes = options.dataPlanes;
  }

  /** The data plane while running (for counters). */
  get dataPlane(): DataPlane | undefined {
    return this.plane;
  }

  /** Each virtual server's current health conclusion, by name. */
  virtualServerStates(): { name: string; state: DesiredServiceState; suspended: boolean }[] {
    return this.monitors.map((monitor) => ({
      name: monitor.name,
      state: monitor.current(),
      suspended: monitor.isSuspended,
    }));
  }

  async start(): Promise<void> {
    const { config } = this;
    if (config.virtualServers.length === 0) return;
    // With dataPlane auto, a virtual server no data plane can run is left out and
    // logged (lbctl validate warns the same); every other problem refuses the start.
    const runnable: { vs: VirtualServer; mapped: MappedVirtualServer }[] = [];
    for (const vs of config.virtualServers) {
      try {
        runnable.push({
          vs,
          mapped: mapVirtualServer(vs, config.virtualServerGroups, config.global.dataPlane),
        });
      } catch (err) {
        if (!(err instanceof UnsupportedServiceError && err.noDataPlane)) throw err;
        this.logger.error({ virtualServer: virtualServerName(vs) }, `${err.message}; left out`);
      }
    }
    this.running = runnable.map((r) => r.vs);
    const mapped = runnable.map((r) => r.mapped);
    if (mapped.length === 0) return;
    const kinds = new Set(mapped.map((m) => m.plane));
    if (kinds.size > 1) {
      // Unreachable while this lbctl has one data plane; `auto` across two needs both running.
      throw new LbctlError(
        'DATAPLANE_UNAVAILABLE',
        `Cannot start the virtual servers: they need several data planes (${[...kinds].join(', ')})`,
      );
    }
    const tls = readTlsMaterial(config.ssl);
    const options = this.running.map((vs, i) =>
      healthOptions(mapped[i]!.name, vs, config.global, tls),
    );
    try {
      await this.startWith(mapped, options);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async startWith(
    mapped: readonly MappedVirtualServer[],
    options: ReturnType<typeof healthOptions>[],
  ): Promise<void> {
    const { config } = this;
    const host = await this.openHost();
    this.host = host;
    const addresses = await host.addresses();
    const interfaces = await this.attachInterfaces(mapped, addresses, host);
    const tunnel = tunnelSource(mapped, addresses, interfaces, host);
    const local = new Set(addresses.map((a) => canonicalAddress(a.address)));
    const isLocal: LocalAddressTest = (address) =>
      address.startsWith('127.') || address === '::1' || local.has(canonicalAddress(address));

    const serviceCount = mapped.reduce((n, m) => n + m.services.length, 0);
    const realCount = mapped.reduce(
      (n, m) => n + m.services.length * (m.reals.length + (m.sorry ? 1 : 0)),
      0,
    );
    this.plane = await this.dataPlanes({
      kind: mapped[0]!.plane,
      instance: config.global.instanceName,
      pinRoot: config.global.pinDir,
      interfaces,
      attachMode: config.global.xdpMode,
      timeouts: timeoutsOf(config),
      maxServices: roundUp(serviceCount, SERVICE_STEP),
      maxReals: roundUp(realCount, REAL_STEP),
      ...(tunnel !== undefined ? { tunnel } : {}),
      links: host,
      logger: this.logger,
    });

    this.nextHops = new HostNextHops({ host, clock: this.clock });
    this.reconciler = new Reconciler({
      dataPlane: this.plane,
      nextHops: this.nextHops,
      clock: this.clock,
      logger: this.logger,
    });
    this.scheduler = new CheckScheduler({ clock: this.clock, logger: this.logger });
    const scripts = new ProcessScriptRunner(this.logger);
    const needsPing = this.running.some((vs) =>
      vs.realServers.some((rs) => rs.checkers.some((c) => c.type === 'PING_CHECK')),
    );
    if (needsPing) this.echoer = new RawIcmpEchoer();
    for (const [i, m] of mapped.entries()) {
      const monitor = new VirtualServerMonitor(options[i]!, {
        scheduler: this.scheduler,
        scripts,
        logger: this.logger,
        ...(this.echoer !== undefined ? { icmpEchoer: this.echoer } : {}),
      });
      this.monitors.push(monitor);
      const reconciler = this.reconciler;
      const publish = () =>
        void reconciler.set(m.name, desiredServices(m, monitor.current(), isLocal));
      this.unsubscribes.push(monitor.onChange(publish));
      publish();
    }
    await this.reconciler.idle();
    this.followVrrp(mapped);
    this.scheduler.start();
    this.logger.info(
      { virtualServers: mapped.length, services: serviceCount },
      `checking ${mapped.length} virtual servers`,
    );
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    await this.reconciler?.close();
    for (const monitor of this.monitors.splice(0)) {
      try {
        await monitor.close();
      } catch (err) {
        this.logger.error({ err }, 'Cannot stop the checks of a virtual server cleanly');
      }
    }
    await this.scheduler?.stop();
    this.echoer?.close();
    const plane = this.plane;
    this.plane = undefined;
    await plane?.destroy();
    this.host?.close();
    this.host = undefined;
  }

  /**
   * Where VIP traffic arrives (keepalived.conf does not say): the interface of
   * the VRRP instance carrying the VIP, else the interface holding it, else
   * the one the route to it leaves by. NAT also needs the reals' side, where
   * their replies come back.
   */
  private async attachInterfaces(
    mapped: readonly MappedVirtualServer[],
    addresses: readonly InterfaceAddress[],
    host: HostNetwork,
  ): Promise<string[]> {
    const nameOf = (ifindex: number | undefined) =>
      ifindex === undefined ? undefined : host.linkByIndex(ifindex)?.name;
    const chosen = new Set<string>();
    for (const vip of new Set(mapped.flatMap((m) => m.vips))) {
      const owner = vrrpOwner(this.config.vrrpInstances, vip);
      const fromVrrp = owner?.address.dev ?? owner?.instance.interface;
      const held = addresses.find((a) => canonicalAddress(a.address) === vip);
      const fromAddress = held === undefined ? undefined : nameOf(held.ifindex);
      let name = fromVrrp ?? (fromAddress !== 'lo' ? fromAddress : undefined);
      if (name === undefined) {
        const route = await host.route(vip).catch(() => undefined);
        if (route?.type === 'unicast') name = nameOf(route.ifindex);
      }
      if (name === undefined) {
        throw new LbctlError(
          'NO_VIP_INTERFACE',
          `Cannot choose an interface for VIP ${vip}: no VRRP instance carries it, ` +
            'no interface holds it and no route leads to it',
        );
      }
      chosen.add(name);
    }
    for (const m of mapped) {
      for (const real of m.reals) {
        if (real.forwarding !== 'nat') continue;
        const route = await host.route(real.address).catch(() => undefined);
        const name = route?.type === 'unicast' ? nameOf(route.ifindex) : undefined;
        if (name !== undefined) chosen.add(name);
      }
    }
    return [...chosen];
  }

  /** ha_suspend: checks of a virtual server run only while the VRRP instance owning its VIP is MASTER. */
  private followVrrp(mapped: readonly MappedVirtualServer[]): void {
    const owners = mapped.map((m) => {
      const owner = m.vips
        .map((vip) => vrrpOwner(this.config.vrrpInstances, vip))
        .find((o) => o !== undefined);
      return owner?.instance.name;
    });
    const suspending = this.running.some((vs, i) => vs.haSuspend && owners[i]);
    if (!suspending) return;
    const source = this.instanceStates;
    if (source === undefined) {
      this.logger.warn('ha_suspend has no VRRP states to follow; checks always run');
      return;
    }
    const apply = (instance: string) => {
      const master = source.state(instance) === 'MASTER';
      this.monitors.forEach((monitor, i) => {
        if (owners[i] !== instance) return;
        if (master) monitor.resume();
        else monitor.suspend();
      });
    };
    for (const instance of new Set(owners)) if (instance !== undefined) apply(instance);
    this.unsubscribes.push(source.onChange((instance) => apply(instance)));
  }
}

function vrrpOwner(instances: readonly VrrpInstance[], vip: string) {
  for (const instance of instances) {
    const address = instance.virtualIpAddresses.find((a) => canonicalAddress(a.address) === vip);
    if (address !== undefined) return { instance, address };
  }
  return undefined;
}

function timeoutsOf(config: Config): Timeouts {
  const t = config.global.connectionTimeouts;
  const seconds = (ms: number | undefined, fallback: number) =>
    ms === undefined ? fallback : Math.max(1, Math.round(ms / 1000));
  return {
    tcpS: seconds(t.tcpMs, DEFAULT_TIMEOUTS.tcpS),
    tcpFinS: seconds(t.tcpFinMs, DEFAULT_TIMEOUTS.tcpFinS),
    udpS: seconds(t.udpMs, DEFAULT_TIMEOUTS.udpS),
  };
}

/** TUN reals need an outer source: the first global address of an attached interface. */
function tunnelSource(
  mapped: readonly MappedVirtualServer[],
  addresses: readonly InterfaceAddress[],
  interfaces: readonly string[],
  links: HostNetwork,
): TunnelOptions | undefined {
  const tunnelled = mapped.some((m) => m.reals.some((r) => r.forwarding === 'tun'));
  if (!tunnelled) return undefined;
  const vips = new Set(mapped.flatMap((m) => m.vips));
  const candidates = addresses.filter(
    (a) =>
      a.scope === 0 &&
      !vips.has(canonicalAddress(a.address)) &&
      interfaces.includes(links.linkByIndex(a.ifindex)?.name ?? ''),
  );
  const v4 = candidates.find((a) => !isIPv6(a.address))?.address;
  const v6 = candidates.find((a) => isIPv6(a.address))?.address;
  return {
    ...(v4 !== undefined ? { sourceV4: v4 } : {}),
    ...(v6 !== undefined ? { sourceV6: v6 } : {}),
  };
}
