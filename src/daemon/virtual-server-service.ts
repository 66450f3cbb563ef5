import { isIPv6 } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { RawIcmpEchoer } from '../checkers/raw-icmp-echoer.js';
import { CheckScheduler } from '../checkers/scheduler.js';
import type { Config, VirtualServer, VrrpInstance } from '../config/model.js';
import { MAX_REALS_PER_SERVICE } from '../dataplane/abi.js';
import {
  type DataPlane,
  type DataPlaneKind,
  DEFAULT_TIMEOUTS,
  type ServiceKey,
  serviceName,
  type Timeouts,
} from '../dataplane/dataplane.js';
import { IpvsDataPlane } from '../dataplane/ipvs/ipvs-dataplane.js';
import { DATA_PLANE_TITLES } from '../dataplane/registry.js';
import { realPort } from '../dataplane/service-rules.js';
import { SplitDataPlane } from '../dataplane/split-data-plane.js';
import { type DataPlaneHealth, DataPlaneSupervisor } from '../dataplane/supervisor.js';
import { isVerifierRefusal } from '../dataplane/xdp/verifier-error.js';
import { type TunnelOptions, XdpDataPlane } from '../dataplane/xdp/xdp-dataplane.js';
import { hasCode, LbctlError } from '../errors.js';
import { ProcessScriptRunner } from '../health/script-runner.js';
import type { RealHealth } from '../health/virtual-server-health.js';
import { VirtualServerMonitor } from '../health/virtual-server-monitor.js';
import { callEach } from '../listeners.js';
import type { Logger } from '../log.js';
import type { VirtualServerState } from '../metrics/sources.js';
import { canonicalAddress } from '../net/address.js';
import type { HostNetwork, InterfaceAddress } from '../netlink/host-network.js';
import { desiredServices, type LocalAddressTest } from '../reconcile/desired-services.js';
import { healthOptions, readTlsMaterial } from '../reconcile/health-options.js';
import { HostNextHops } from '../reconcile/host-next-hops.js';
import { UnsupportedServiceError } from '../reconcile/reconcile-error.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { type RealOverride, RuntimeOverrides } from '../reconcile/runtime-overrides.js';
import {
  type MappedVirtualServer,
  mapVirtualServer,
  realKey,
  virtualServerName,
} from '../reconcile/service-mapping.js';
import { serviceKey } from '../reconcile/spec-equality.js';
import { diffVirtualServers } from '../reload/virtual-server-diff.js';
import type { Service } from '../service.js';
import type { Clock } from '../time/clock.js';
import { LoopSlicer } from '../time/loop-slice.js';
import type { AnnounceCandidate } from './announced-vips.js';
import type { DataPlaneFactory } from './data-plane-factory.js';
import type { InstanceStateSource } from './instance-state-source.js';
import { ReloadRefusedError } from './reload-refused.js';

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
  /** The daemon's run directory (`lbctl up --run-dir`): IPVS keeps its ownership record there. */
  readonly runDir?: string;
}

/** Map sizes grow in steps, so a restart with a few more services can reuse pinned maps. */
const SERVICE_STEP = 64;
const REAL_STEP = 4096;
const roundUp = (n: number, step: number) => Math.max(step, Math.ceil(n / step) * step);

/** Data-plane health until the data plane is open and the first services are in. */
const STARTING: DataPlaneHealth = { healthy: false, starting: true, interfaces: [], broken: [] };
/** Data-plane health after start without a supervised (XDP) data plane: kernel IPVS only, or none. */
const UNSUPERVISED: DataPlaneHealth = { healthy: true, interfaces: [], broken: [] };

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
  private config: Config;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly instanceStates: InstanceStateSource | undefined;
  private readonly openHost: () => Promise<HostNetwork>;
  private readonly dataPlanes: DataPlaneFactory;
  private readonly runDir: string | undefined;
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
  /** Running virtual servers by name, for runtime changes and reload. */
  private readonly byName = new Map<string, RunningVirtualServer>();
  private readonly overrides = new RuntimeOverrides();
  private context: MonitorContext | undefined;
  /** Subscribers to "something BGP announcement depends on changed". */
  private readonly changeListeners = new Set<() => void>();
  private capacity = { services: 0, reals: 0 };
  /** Under auto, the kernel's verifier refused the XDP program at start. */
  private xdpRefused = false;
  private supervisor: DataPlaneSupervisor | undefined;
  /** Data-plane health subscribers: they may join before start. */
  private readonly healthListeners = new Set<(health: DataPlaneHealth) => void>();
  /** Start has finished: the data plane forwards (XDP attached, IPVS services in). */
  private started = false;

  constructor(options: VirtualServerServiceOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ component: 'virtual-servers' });
    this.clock = options.clock;
    this.instanceStates = options.instanceStates;
    this.openHost = options.openHost;
    this.dataPlanes = options.dataPlanes;
    this.runDir = options.runDir;
  }

  /** The data plane while running (for counters). */
  get dataPlane(): DataPlane | undefined {
    return this.plane;
  }

  /** The XDP data plane while running (status reads its connection table). */
  get xdp(): XdpDataPlane | undefined {
    const plane = this.plane instanceof SplitDataPlane ? this.plane.part('xdp') : this.plane;
    return plane instanceof XdpDataPlane ? plane : undefined;
  }

  /** The kernel IPVS data plane while running (status reads its dumps). */
  get ipvs(): IpvsDataPlane | undefined {
    const plane = this.plane instanceof SplitDataPlane ? this.plane.part('ipvs') : this.plane;
    return plane instanceof IpvsDataPlane ? plane : undefined;
  }

  /**
   * The XDP data plane's health as its supervisor last saw it (healthy while
   * there is none). VRRP tracks it; other followers (route announcements)
   * may subscribe with onDataPlaneHealth.
   */
  get dataPlaneSupervision(): DataPlaneSupervisor | undefined {
    return this.supervisor;
  }

  /**
   * The data plane's health for its followers: `starting` until start has
   * opened it and applied the first services (an XDP load takes seconds), then
   * what its supervisor sees (always healthy without XDP: kernel IPVS has
   * nothing to supervise).
   */
  get dataPlaneHealth(): DataPlaneHealth {
    if (!this.started) return STARTING;
    return this.supervisor?.health ?? UNSUPERVISED;
  }

  /**
   * Hears every change of data-plane health: `starting` until start has
   * finished, then unhealthy when XDP links or pins were removed by someone
   * else and not restorable or an interface is gone (the listed interfaces do
   * not forward). Called at once with the current health.
   */
  onDataPlaneHealth(listener: (health: DataPlaneHealth) => void): () => void {
    this.healthListeners.add(listener);
    listener(this.dataPlaneHealth);
    return () => this.healthListeners.delete(listener);
  }

  private publishHealth(health: DataPlaneHealth): void {
    callEach(this.healthListeners, [health], (err) =>
      this.logger.error({ err }, 'data-plane health listener failed'),
    );
    this.notifyHealth();
  }

  /** Each virtual server's current health conclusion, by name. */
  virtualServerStates(): VirtualServerState[] {
    return this.monitors.map((monitor) => {
      // Made when first read: a scrape reads them inside its loop slices, a
      // virtual server at a time (32,000 reals at scale are not free).
      let reals: RealHealth[] | undefined;
      return {
        name: monitor.name,
        services: this.byName.get(monitor.name)?.mapped.services ?? [],
        state: monitor.current(),
        get reals() {
          reals ??= monitor.realHealth();
          return reals;
        },
        suspended: monitor.isSuspended,
      };
    });
  }

  /** Each running virtual server's VIPs and whether it can serve them (BGP announcement). */
  announceCandidates(): AnnounceCandidate[] {
    return [...this.byName.values()].map((r) => ({
      name: r.mapped.name,
      vips: [...new Set(r.mapped.services.map((s) => s.vip))],
      announce: r.config.bgpAnnounce,
      serving: r.monitor.current().quorumUp,
    }));
  }

  /**
   * True while the data plane's latest update failed (it is retried with
   * backoff) or its supervisor finds the XDP installation broken beyond repair.
   */
  get dataPlaneFailed(): boolean {
    return (
      this.plane === undefined ||
      (this.reconciler?.report().failed ?? 0) > 0 ||
      this.supervisor?.health.healthy === false
    );
  }

  /**
   * Calls `listener` after a virtual server's health changes, after its
   * services are applied and when the data plane's health changes.
   */
  onHealthChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private notifyHealth(): void {
    for (const listener of this.changeListeners) listener();
  }

  async start(): Promise<void> {
    const { config } = this;
    if (config.virtualServers.length === 0) return this.finishStart();
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
    if (runnable.length === 0) return this.finishStart();
    const tls = readTlsMaterial(config.ssl);
    try {
      await this.startWith(runnable, tls);
    } catch (err) {
      await this.close();
      throw err;
    }
    this.finishStart();
  }

  /** The data plane forwards now: its followers (VRRP) hear it is no longer starting. */
  private finishStart(): void {
    this.started = true;
    this.publishHealth(this.dataPlaneHealth);
  }

  private async startWith(
    configured: { vs: VirtualServer; mapped: MappedVirtualServer }[],
    tls: ReturnType<typeof readTlsMaterial>,
  ): Promise<void> {
    const { config } = this;
    const auto = config.global.dataPlane === 'auto';
    let runnable = configured;
    const host = await this.openHost();
    this.host = host;
    const addresses = await host.addresses();
    const opened = new Map<DataPlaneKind, DataPlane>();
    this.plane = undefined;
    const carried = (kind: DataPlaneKind) => runnable.filter((r) => r.mapped.plane === kind);
    try {
      // XDP first: when its kernel refuses the program, `auto` moves its services to IPVS.
      if (carried('xdp').length > 0) {
        const xdp = await this.openPlane(
          'xdp',
          carried('xdp').map((r) => r.mapped),
          addresses,
          host,
        ).catch((err: unknown) => {
          if (!(auto && isVerifierRefusal(err))) throw err;
          this.logger.error(
            { err },
            `${err.message.split('\n')[0]}; under dataPlane auto every virtual server runs on kernel IPVS instead`,
          );
          this.xdpRefused = true;
          runnable = runnable.map((r) =>
            r.mapped.plane === 'xdp'
              ? { vs: r.vs, mapped: mapVirtualServer(r.vs, config.virtualServerGroups, 'ipvs') }
              : r,
          );
          return undefined;
        });
        if (xdp !== undefined) opened.set('xdp', xdp);
      }
      if (carried('ipvs').length > 0) {
        const ipvs = await this.openPlane(
          'ipvs',
          carried('ipvs').map((r) => r.mapped),
          addresses,
          host,
        ).catch((err: unknown) => {
          // auto: a kernel without IPVS still runs what XDP can; each service left out is named.
          if (!(auto && hasCode(err, 'IPVS_UNAVAILABLE'))) throw err;
          for (const r of carried('ipvs')) {
            this.logger.error(
              { virtualServer: r.mapped.name },
              `${(err as Error).message}; this virtual server needs it and is left out`,
            );
          }
          return undefined;
        });
        if (ipvs !== undefined) opened.set('ipvs', ipvs);
      }
    } catch (err) {
      for (const plane of opened.values()) await plane.destroy();
      throw err;
    }
    const kept = runnable.filter((r) => opened.has(r.mapped.plane));
    this.running = kept.map((r) => r.vs);
    const mapped = kept.map((r) => r.mapped);
    const options = kept.map((r) => healthOptions(r.mapped.name, r.vs, config.global, tls));
    for (const m of mapped) {
      // Once per service: which data plane `auto` (or the configuration) gave it.
      if (m.plane !== 'xdp')
        this.logger.info({ virtualServer: m.name }, `runs on ${DATA_PLANE_TITLES[m.plane]}`);
    }
    if (opened.size === 0) return;
    this.plane =
      opened.size === 1
        ? [...opened.values()][0]!
        : new SplitDataPlane(
            opened,
            mapped.flatMap((m) => m.services.map((s) => [s, m.plane] as const)),
          );
    const local = new Set(addresses.map((a) => canonicalAddress(a.address)));
    const isLocal: LocalAddressTest = (address) =>
      address.startsWith('127.') || address === '::1' || local.has(canonicalAddress(address));
    const serviceCount = mapped.reduce((n, m) => n + m.services.length, 0);
    const realCount = mapped.reduce(
      (n, m) => n + m.services.length * (m.reals.length + (m.sorry ? 1 : 0)),
      0,
    );
    this.capacity = {
      services: roundUp(serviceCount, SERVICE_STEP),
      reals: roundUp(realCount, REAL_STEP),
    };

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
    this.context = { scheduler: this.scheduler, scripts, isLocal };
    for (const [i, m] of mapped.entries()) {
      this.runVirtualServer(this.running[i]!, m, options[i]!, undefined);
    }
    await this.reconciler.idle();
    this.superviseDataPlane();
    this.followVrrp();
    this.scheduler.start();
    this.logger.info(
      { virtualServers: mapped.length, services: serviceCount },
      `checking ${mapped.length} virtual servers`,
    );
  }

  /** Builds (or, on reload, rebuilds) one virtual server's checks and publishes its services. */
  private runVirtualServer(
    vs: VirtualServer,
    m: MappedVirtualServer,
    options: ReturnType<typeof healthOptions>,
    previous: RunningVirtualServer | undefined,
  ): void {
    const { context, reconciler } = this;
    if (context === undefined || reconciler === undefined) return;
    previous?.unsubscribe();
    const monitor = new VirtualServerMonitor(options, {
      scheduler: context.scheduler,
      scripts: context.scripts,
      logger: this.logger,
      ...(this.echoer !== undefined ? { icmpEchoer: this.echoer } : {}),
      ...(previous !== undefined ? { previous: previous.monitor } : {}),
    });
    const index = previous === undefined ? -1 : this.monitors.indexOf(previous.monitor);
    if (index >= 0) this.monitors[index] = monitor;
    else this.monitors.push(monitor);
    const publish = () =>
      reconciler
        .set(m.name, this.overrides.apply(desiredServices(m, monitor.current(), context.isLocal)))
        .finally(() => this.notifyHealth());
    const unsubscribe = monitor.onChange(() => {
      this.notifyHealth();
      void publish();
    });
    const running = { config: vs, mapped: m, monitor, publish, unsubscribe };
    this.byName.set(m.name, running);
    this.followState(running);
    void publish();
  }

  /** The virtual server serving `key`, with its configured real at address:port. */
  findReal(key: ServiceKey, address: string, port: number) {
    for (const running of this.byName.values()) {
      const spec = running.mapped.services.find((s) => serviceKey(s) === serviceKey(key));
      if (spec === undefined) continue;
      const wanted = canonicalAddress(address);
      const real = running.mapped.reals.find(
        (r) => canonicalAddress(r.address) === wanted && realPort(spec, r) === port,
      );
      return { running, spec, real, configuredWeight: real?.weight };
    }
    return undefined;
  }

  /**
   * A runtime change to one real (ipvsadm -e): a weight, quiesce (weight 0)
   * or restore (the configured weight). Applied through the reconciler like
   * any change; kept until the next reload.
   */
  async changeReal(
    key: ServiceKey,
    address: string,
    port: number,
    override: RealOverride | undefined,
  ): Promise<void> {
    const found = this.findReal(key, address, port);
    const where = `${serviceName(key)} real ${realKey(canonicalAddress(address), port)}`;
    if (found === undefined) {
      throw new LbctlError(
        'RUNTIME_NO_SUCH_SERVICE',
        `Cannot change ${where}: no virtual server has service ${serviceName(key)}`,
      );
    }
    if (found.real === undefined) {
      throw new LbctlError(
        'RUNTIME_NO_SUCH_REAL',
        `Cannot change ${where}: the service has no such real server`,
      );
    }
    const spec = found.spec;
    if (override === undefined) this.overrides.clear(spec, canonicalAddress(address), port);
    else this.overrides.set(spec, canonicalAddress(address), port, override);
    this.logger.info(
      {
        service: serviceName(key),
        real: realKey(canonicalAddress(address), port),
        override: override ?? 'restored',
      },
      `runtime change to ${where}: ${override === undefined ? 'restored' : override.kind === 'quiesce' ? 'quiesced' : `weight ${override.weight}`}`,
    );
    await found.running.publish();
    await this.reconciler?.idle();
  }

  /** The runtime override of a real, if any. */
  overrideOf(key: ServiceKey, address: string, port: number): RealOverride | undefined {
    return this.overrides.get(key, address, port);
  }

  /** The running configuration. */
  get currentConfig(): Config {
    return this.config;
  }

  /**
   * Checks that `next` can replace the running virtual servers without a
   * restart and returns the step that does it; nothing changes until then.
   * Unchanged virtual servers keep their checks and services; changed ones
   * get new checks starting from the old state of every unchanged check, and
   * their services are rewritten in one step each (reals that stay keep
   * their ids, so established connections stay on them).
   */
  async planReload(next: Config): Promise<{ summary: string; apply: () => Promise<void> }> {
    const before = this.config;
    const problems: string[] = [];
    const restartOnly = (what: string, a: unknown, b: unknown) => {
      if (!isDeepStrictEqual(a, b))
        problems.push(`${what} changed; it takes effect only at a restart`);
    };
    restartOnly('instanceName', before.global.instanceName, next.global.instanceName);
    restartOnly('pinDir', before.global.pinDir, next.global.pinDir);
    restartOnly('xdpMode', before.global.xdpMode, next.global.xdpMode);
    restartOnly('dataPlane', before.global.dataPlane, next.global.dataPlane);
    restartOnly(
      'connectionTableSize',
      before.global.connectionTableSize,
      next.global.connectionTableSize,
    );
    restartOnly('connectionSync', before.global.connectionSync, next.global.connectionSync);
    if ((before.virtualServers.length === 0) !== (next.virtualServers.length === 0)) {
      problems.push('adding the first or removing the last virtual server takes a restart');
    }
    // Comparing and mapping thousands of virtual servers takes a while: VRRP adverts share this loop.
    const slicer = new LoopSlicer();
    const diff = await diffVirtualServers(before, next, slicer);
    const mapped = new Map<string, MappedVirtualServer>();
    const options = new Map<string, ReturnType<typeof healthOptions>>();
    let tls: ReturnType<typeof readTlsMaterial> | undefined;
    for (const vs of [...diff.added, ...diff.changed]) {
      await slicer.maybeYield();
      try {
        let m = mapVirtualServer(vs, next.virtualServerGroups, next.global.dataPlane);
        // The kernel refused the XDP program at start: what auto gives XDP runs on IPVS.
        if (this.xdpRefused && m.plane === 'xdp')
          m = mapVirtualServer(vs, next.virtualServerGroups, 'ipvs');
        const open =
          this.plane instanceof SplitDataPlane
            ? this.plane.part(m.plane) !== undefined
            : this.plane === undefined || this.plane.kind === m.plane;
        if (!open) {
          throw new Error(
            `${m.name} needs ${DATA_PLANE_TITLES[m.plane]}, which this instance did not open at start (restart to open it)`,
          );
        }
        tls ??= readTlsMaterial(next.ssl);
        mapped.set(m.name, m);
        options.set(m.name, healthOptions(m.name, vs, next.global, tls));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    const all = next.virtualServers.map(
      (vs) => mapped.get(virtualServerName(vs)) ?? this.byName.get(virtualServerName(vs))?.mapped,
    );
    const services = all.reduce((n, m) => n + (m?.services.length ?? 0), 0);
    const reals = all.reduce(
      (n, m) =>
        n + (m === undefined ? 0 : m.services.length * (m.reals.length + (m.sorry ? 1 : 0))),
      0,
    );
    // A service being rewritten holds its new reals' ids before releasing the old ones.
    if (services > this.capacity.services || reals + MAX_REALS_PER_SERVICE > this.capacity.reals) {
      problems.push(
        `the new configuration needs ${services} services and ${reals} reals; the data plane was sized at start for ` +
          `${this.capacity.services} and ${this.capacity.reals} (restart to grow it)`,
      );
    }
    const attached = new Set(Object.keys(this.xdp?.linkModes() ?? {}));
    for (const m of mapped.values()) {
      for (const vip of m.vips) {
        const owner = vrrpOwner(next.vrrpInstances, vip);
        const dev = owner?.address.dev ?? owner?.instance.interface;
        if (dev !== undefined && attached.size > 0 && !attached.has(dev)) {
          problems.push(
            `VIP ${vip} arrives on ${dev}, where XDP is not attached (restart to attach it)`,
          );
        }
      }
    }
    if (problems.length > 0) throw new ReloadRefusedError(problems);
    const summary =
      `virtual servers: ${diff.added.length} added, ${diff.removed.length} removed, ` +
      `${diff.changed.length} changed, ${diff.unchanged.length} unchanged`;
    return {
      summary,
      apply: async () => {
        this.config = next;
        const unchanged = new Set(diff.unchanged);
        this.running = next.virtualServers.filter((vs) => {
          const name = virtualServerName(vs);
          return mapped.has(name) || unchanged.has(name);
        });
        this.overrides.clearAll();
        for (const name of diff.removed) {
          const running = this.byName.get(name);
          if (running === undefined) continue;
          running.unsubscribe();
          running.monitor.detach();
          const index = this.monitors.indexOf(running.monitor);
          if (index >= 0) this.monitors.splice(index, 1);
          this.byName.delete(name);
          void this.reconciler?.set(name, []);
        }
        // Thousands of virtual servers: VRRP adverts share this loop, so it yields between them.
        const slicer = new LoopSlicer();
        for (const vs of [...diff.changed, ...diff.added]) {
          await slicer.maybeYield();
          const name = virtualServerName(vs);
          const m = mapped.get(name)!;
          if (this.plane instanceof SplitDataPlane)
            for (const s of m.services) this.plane.route(s, m.plane);
          this.runVirtualServer(vs, mapped.get(name)!, options.get(name)!, this.byName.get(name));
        }
        // Overrides were cleared: unchanged virtual servers publish their configured weights again.
        for (const name of diff.unchanged) void this.byName.get(name)?.publish();
        const timeouts = timeoutsOf(next);
        if (!isDeepStrictEqual(timeouts, timeoutsOf(before)))
          await this.plane?.setTimeouts(timeouts);
        await this.reconciler?.idle();
      },
    };
  }

  /** Opens the data plane of `kind` for the virtual servers it carries. */
  private async openPlane(
    kind: DataPlaneKind,
    mapped: readonly MappedVirtualServer[],
    addresses: readonly InterfaceAddress[],
    host: HostNetwork,
  ): Promise<DataPlane> {
    const { config } = this;
    // Kernel IPVS needs no interface: it sees every packet the stack routes to a VIP.
    const xdp = kind === 'xdp';
    const interfaces = xdp ? await this.attachInterfaces(mapped, addresses, host) : [];
    const tunnel = xdp ? tunnelSource(mapped, addresses, interfaces, host) : undefined;
    const serviceCount = mapped.reduce((n, m) => n + m.services.length, 0);
    const realCount = mapped.reduce(
      (n, m) => n + m.services.length * (m.reals.length + (m.sorry ? 1 : 0)),
      0,
    );
    return this.dataPlanes({
      kind,
      instance: config.global.instanceName,
      pinRoot: config.global.pinDir,
      interfaces,
      attachMode: config.global.xdpMode,
      timeouts: timeoutsOf(config),
      maxServices: roundUp(serviceCount, SERVICE_STEP),
      maxReals: roundUp(realCount, REAL_STEP),
      connections: config.global.connectionTableSize,
      ...(tunnel !== undefined ? { tunnel } : {}),
      connectionSync: config.global.connectionSync !== undefined,
      links: host,
      logger: this.logger,
      ...(this.runDir !== undefined ? { runDir: this.runDir } : {}),
    });
  }

  /** Starts checking the XDP links and pins every second (see DataPlaneSupervisor). */
  private superviseDataPlane(): void {
    const xdp = this.xdp;
    if (xdp === undefined) return;
    const supervisor = new DataPlaneSupervisor(xdp, this.clock, this.logger);
    this.supervisor = supervisor;
    // Followers hear the first checks' result when start finishes (finishStart).
    supervisor.onHealth((health) => {
      if (this.started) this.publishHealth(health);
    });
    supervisor.start();
  }

  async close(): Promise<void> {
    // No health event at shutdown: VRRP stops on its own, without a FAULT.
    this.supervisor?.close();
    this.supervisor = undefined;
    for (const running of this.byName.values()) running.unsubscribe();
    this.byName.clear();
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
  private followVrrp(): void {
    const source = this.instanceStates;
    if (source === undefined) {
      if (this.config.virtualServers.some((vs) => vs.haSuspend)) {
        this.logger.warn('ha_suspend has no VRRP states to follow; checks always run');
      }
      return;
    }
    this.unsubscribes.push(
      source.onChange((instance) => {
        for (const running of this.byName.values()) {
          if (this.vrrpInstanceOf(running) === instance) this.followState(running);
        }
      }),
    );
  }

  /** ha_suspend: checks run only while the VRRP instance owning the VIP is MASTER (a no-op without ha_suspend). */
  private followState(running: RunningVirtualServer): void {
    const instance = this.vrrpInstanceOf(running);
    if (instance === undefined || this.instanceStates === undefined) return;
    if (this.instanceStates.state(instance) === 'MASTER') running.monitor.resume();
    else running.monitor.suspend();
  }

  private vrrpInstanceOf(running: RunningVirtualServer): string | undefined {
    return running.mapped.vips
      .map((vip) => vrrpOwner(this.config.vrrpInstances, vip))
      .find((o) => o !== undefined)?.instance.name;
  }
}

interface RunningVirtualServer {
  readonly config: VirtualServer;
  readonly mapped: MappedVirtualServer;
  readonly monitor: VirtualServerMonitor;
  readonly publish: () => Promise<void>;
  readonly unsubscribe: () => void;
}

interface MonitorContext {
  readonly scheduler: CheckScheduler;
  readonly scripts: ProcessScriptRunner;
  readonly isLocal: LocalAddressTest;
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
