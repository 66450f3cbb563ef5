import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/model.js';
import type { DataPlaneHealth } from '../dataplane/supervisor.js';
import { LbctlError } from '../errors.js';
import { callEach } from '../listeners.js';
import type { Logger } from '../log.js';
import { canonicalAddress } from '../net/address.js';
import { LinkTable } from '../netlink/link-table.js';
import { RouteNetlink } from '../netlink/rtnetlink.js';
import type { VrrpInstanceStatus } from '../status/status-report.js';
import { type Clock, systemClock } from '../time/clock.js';
import { VrrpEngine, type VrrpEngineConfig } from '../vrrp/engine.js';
import type { VrrpEngineView } from '../vrrp/engine-view.js';
import { type ResolvedInstanceOptions, resolveInstanceOptions } from '../vrrp/options.js';
import type { VrrpState } from '../vrrp/state.js';
import { vrrpOptionsFromConfig } from '../vrrp/system/config-options.js';
import { HostNetworkEffects } from '../vrrp/system/host-effects.js';
import { RawVrrpTransport } from '../vrrp/system/raw-transport.js';
import { ReloadRefusedError } from './reload-refused.js';
import type { VrrpRunner } from './vrrp-runner.js';

/** Where data-plane health comes from (the virtual-server service's supervisor). */
export interface DataPlaneHealthSource {
  onDataPlaneHealth(listener: (health: DataPlaneHealth) => void): () => void;
}

export interface VrrpServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** The part of the configuration the engine takes (and a reload may change). */
function engineConfig(configured: ReturnType<typeof vrrpOptionsFromConfig>): VrrpEngineConfig {
  return {
    instances: configured.instances,
    syncGroups: configured.syncGroups,
    scripts: configured.scripts,
    trackFiles: configured.trackFiles,
    routerId: configured.routerId,
    ...(configured.smtp === undefined ? {} : { smtp: configured.smtp }),
  };
}

/**
 * Runs the configured VRRP instances on this host's interfaces. At start it
 * removes what a crashed run left behind (configured VIPs and virtual routes
 * still present while we are not master), as keepalived does; at close every
 * master sends priority 0 and releases its addresses before the sockets close.
 */
export class VrrpService implements VrrpRunner {
  readonly name = 'vrrp';
  private options: VrrpServiceOptions;
  private readonly logger: Logger;
  private netlink: RouteNetlink | undefined;
  private links: LinkTable | undefined;
  private effects: HostNetworkEffects | undefined;
  private running: VrrpEngine | undefined;
  private transport: RawVrrpTransport | undefined;
  private readonly stateListeners = new Set<(instance: string, state: VrrpState) => void>();
  private dataPlaneSource: DataPlaneHealthSource | undefined;
  private unfollowDataPlane: (() => void) | undefined;
  /** The latest state change of each instance, for status. */
  private readonly transitions = new Map<string, { at: Date; from: VrrpState; reason: string }>();

  constructor(options: VrrpServiceOptions) {
    this.options = options;
    this.logger = options.logger.child({ service: 'vrrp' });
  }

  /** The running engine (instances, states, counters); undefined before start. */
  get engine(): VrrpEngine | undefined {
    return this.running;
  }

  state(instance: string): VrrpState | undefined {
    return this.running?.instances.find((i) => i.name === instance)?.state;
  }

  /** Listeners may subscribe before start; they hear every transition of every instance. */
  onChange(listener: (instance: string, state: VrrpState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Tracks the data plane's health (XDP links and pins supervised): an
   * instance whose data plane is gone is in FAULT; while it is not started
   * yet the instances stay in INIT. Called before start.
   */
  trackDataPlane(source: DataPlaneHealthSource): void {
    this.dataPlaneSource = source;
  }

  async start(): Promise<void> {
    const configured = vrrpOptionsFromConfig(this.options.config);
    for (const warning of configured.warnings) this.logger.warn(warning);
    try {
      this.netlink = new RouteNetlink();
      this.links = await LinkTable.open(this.netlink, this.logger);
      this.effects = new HostNetworkEffects(this.netlink, this.links, this.logger);
      const resolved = configured.instances.map(resolveInstanceOptions);
      for (const instance of resolved) {
        const addresses = [...instance.vips, ...instance.excludedVips];
        for (const dev of [instance.interface, ...addresses.map((vip) => vip.dev)]) {
          if (this.links.link(dev) === undefined) {
            throw new LbctlError(
              'VRRP_NO_SUCH_INTERFACE',
              `Cannot start VRRP instance ${instance.name}: interface ${dev} does not exist`,
            );
          }
        }
      }
      await this.removeLeftovers(resolved);
      const ifindexByName = new Map<string, number>();
      for (const link of await this.netlink.listLinks()) ifindexByName.set(link.name, link.index);
      const transport = new RawVrrpTransport(
        await this.netlink.listAddresses(),
        ifindexByName,
        this.logger,
      );
      this.transport = transport;
      const engine = new VrrpEngine({
        clock: this.options.clock,
        logger: this.logger,
        transport,
        effects: this.effects,
        links: this.links,
        ...engineConfig(configured),
      });
      this.running = engine;
      // Engine-wide: instances a reload adds are followed too.
      engine.onStateChange((change) => {
        this.transitions.set(change.instance, {
          at: new Date(),
          from: change.from,
          reason: change.reason,
        });
        callEach(this.stateListeners, [change.instance, change.to], (err) =>
          this.logger.error({ err, instance: change.instance }, 'state listener failed'),
        );
      });
      // Before the engine starts: while the data plane starts its instances stay in INIT.
      this.unfollowDataPlane = this.followDataPlane(engine);
      engine.start();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Feeds the data plane's health to the engine. While the virtual servers
   * open it (an XDP load takes seconds) every instance waits in INIT, sending
   * nothing and running no notify (keepalived's `vrrp_startup_delay`): even
   * the address owner must not take a VIP that nothing forwards yet, or this
   * host's own stack would answer (TCP: reset) the packets it attracts.
   */
  private followDataPlane(engine: VrrpEngine): (() => void) | undefined {
    let waitingSince: number | undefined;
    return this.dataPlaneSource?.onDataPlaneHealth((health) => {
      if (health.starting === true) {
        if (waitingSince === undefined) {
          this.logger.info('waiting for the data plane to start: VRRP instances stay in INIT');
          waitingSince = this.options.clock.now();
        }
      } else if (waitingSince !== undefined) {
        const waitedMs = Math.round(this.options.clock.now() - waitingSince);
        this.logger.info({ waitedMs }, `data plane ready after ${waitedMs} ms`);
        waitingSince = undefined;
      }
      engine.setDataPlaneHealth(health);
    });
  }

  /** The running engine itself (it fits the view). */
  async engineView(): Promise<VrrpEngineView | undefined> {
    return this.running;
  }

  /** Each instance as `lbctl status` shows it. */
  async instanceStatus(): Promise<VrrpInstanceStatus[]> {
    return (this.running?.instances ?? []).map((instance) => {
      const last = this.transitions.get(instance.name);
      return {
        name: instance.name,
        interface: instance.options.interface,
        vrid: instance.options.virtualRouterId,
        state: instance.state,
        effectivePriority: instance.priority,
        configuredPriority: instance.options.priority,
        vips: instance.options.vips.map((vip) => vip.address),
        ...(last === undefined
          ? {}
          : {
              lastTransition: { at: last.at.toISOString(), from: last.from, reason: last.reason },
            }),
      };
    });
  }

  /**
   * What a reload to `next` does to VRRP, as keepalived 2.2.7 does it (see
   * VrrpEngine.planReload and docs/operations.md): unchanged instances are
   * left alone (same state, same timers, no advert at priority 0, no address
   * touched), changed ones are changed in place, removed ones stop, new ones
   * start. Everything is checked first: interfaces, source addresses,
   * tracked objects, sync groups; any problem refuses the whole reload.
   */
  async planReload(next: Config): Promise<{ summary: string; apply: () => Promise<void> }> {
    const before = vrrpOptionsFromConfig(this.options.config);
    const after = vrrpOptionsFromConfig(next);
    if (isDeepStrictEqual(before, after)) {
      const count = before.instances.length;
      return {
        summary: `VRRP: ${count} instance${count === 1 ? '' : 's'} unchanged`,
        apply: async () => {
          this.options = { ...this.options, config: next };
        },
      };
    }
    const { running: engine, links, netlink, transport } = this;
    if (engine === undefined || links === undefined || netlink === undefined || !transport) {
      throw new ReloadRefusedError(['VRRP is not running']);
    }
    const problems: string[] = [];
    for (const raw of after.instances) {
      const devices = [
        raw.interface,
        ...[...raw.vips, ...(raw.excludedVips ?? [])].map((v) => v.dev),
      ];
      for (const dev of new Set(devices)) {
        if (dev !== undefined && links.link(dev) === undefined)
          problems.push(`VRRP instance ${raw.name}: interface ${dev} does not exist`);
      }
    }
    // Source addresses of new instances come from the host as it is now, without our VIPs.
    const held = new Set(
      engine.instances
        .flatMap((i) => [...i.options.vips, ...i.options.excludedVips])
        .map((v) => v.address),
    );
    const addresses = (await netlink.listAddresses()).filter(
      (a) => !held.has(canonicalAddress(a.address)),
    );
    const ifindexByName = new Map<string, number>();
    for (const link of await netlink.listLinks()) ifindexByName.set(link.name, link.index);
    transport.refresh(addresses, ifindexByName);
    const plan = engine.planReload(engineConfig(after));
    problems.push(...plan.problems);
    if (problems.length > 0) throw new ReloadRefusedError(problems.map((p) => `VRRP: ${p}`));
    return {
      summary: `VRRP: ${plan.summary}`,
      apply: async () => {
        for (const warning of after.warnings) this.logger.warn(warning);
        plan.apply();
        this.options = { ...this.options, config: next };
      },
    };
  }

  async close(): Promise<void> {
    this.unfollowDataPlane?.();
    this.unfollowDataPlane = undefined;
    const engine = this.running;
    this.running = undefined;
    try {
      await engine?.stop();
      // Address removals run in the background of the state machine: wait for them.
      await this.effects?.settle();
    } finally {
      this.effects?.close();
      this.links?.close();
      this.netlink?.close();
      this.effects = undefined;
      this.links = undefined;
      this.netlink = undefined;
    }
  }

  /**
   * Removes the configured VIPs and virtual routes from the interfaces
   * without running VRRP: what the main thread does when the VRRP thread
   * stopped on its own, before the virtual servers stop forwarding (this
   * host's own stack would otherwise answer, TCP: reset, what the VIPs
   * still attract until a backup takes over).
   */
  static async releaseAddresses(config: Config, logger: Logger): Promise<void> {
    const service = new VrrpService({ config, logger, clock: systemClock });
    try {
      service.netlink = new RouteNetlink();
      service.links = await LinkTable.open(service.netlink, service.logger);
      service.effects = new HostNetworkEffects(service.netlink, service.links, service.logger);
      const configured = vrrpOptionsFromConfig(config).instances.map(resolveInstanceOptions);
      await service.removeLeftovers(configured, 'removing virtual address VRRP no longer holds');
    } finally {
      await service.close();
    }
  }

  /** Removes configured VIPs and virtual routes found on the interfaces (a previous run's, by default). */
  private async removeLeftovers(
    instances: readonly ResolvedInstanceOptions[],
    why = 'removing virtual address left by a previous run',
  ): Promise<void> {
    const { netlink, links, effects } = this;
    if (netlink === undefined || links === undefined || effects === undefined) return;
    const present = await netlink.listAddresses();
    for (const instance of instances) {
      for (const route of instance.virtualRoutes) {
        // Absent is fine: removing is idempotent.
        await effects.removeRoute(route);
      }
      for (const vip of [...instance.vips, ...instance.excludedVips]) {
        const ifindex = links.link(vip.dev)?.index;
        const leftover = present.find(
          (a) => a.ifindex === ifindex && canonicalAddress(a.address) === vip.address,
        );
        if (leftover === undefined) continue;
        this.logger.warn(
          { instance: instance.name, address: vip.address, interface: vip.dev },
          why,
        );
        await netlink.deleteAddress(leftover);
      }
    }
  }
}
