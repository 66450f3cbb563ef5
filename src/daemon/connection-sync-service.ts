/**
 * Connection sync as a daemon service: keepalived's lvs_sync_daemon. The VRRP
 * instance it names decides the role (MASTER sends, any other state
 * receives), as keepalived starts the kernel's master or backup sync daemon
 * on that instance's transitions. It follows VRRP through its state events
 * and leaves the engine alone. The XDP data plane supplies reports and stores
 * learnt flows; for services on kernel IPVS the kernel's own sync daemons are
 * started and stopped instead (docs/connection-sync.md).
 */
import type { ConnectionSyncConfig } from '../config/model.js';
import type { ConnectionSyncPort } from '../dataplane/connection-sync.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import { IpvsDataPlane } from '../dataplane/ipvs/ipvs-dataplane.js';
import { IpvsNetlink } from '../dataplane/ipvs/ipvs-netlink.js';
import { IpvsSyncDaemons } from '../dataplane/ipvs/sync-daemons.js';
import { SplitDataPlane } from '../dataplane/split-data-plane.js';
import { XdpDataPlane } from '../dataplane/xdp/xdp-dataplane.js';
import type { Logger } from '../log.js';
import type { Service } from '../service.js';
import {
  ConnectionSync,
  type ConnectionSyncCounters,
  type SyncRole,
} from '../sync/connection-sync.js';
import { IpvsServiceIndex } from '../sync/ipvs-connection-entry.js';
import { IPVS_SYNC_DEFAULT_MAXLEN } from '../sync/ipvs-sync-codec.js';
import { handOffIpvsConnections } from '../sync/ipvs-table-handoff.js';
import { openSyncReceiver, openSyncSender } from '../sync/multicast-transport.js';
import type { Clock } from '../time/clock.js';
import type { VrrpState } from '../vrrp/state.js';

export interface ConnectionSyncServiceOptions {
  readonly settings: ConnectionSyncConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The VRRP instances' states: current, and every change. */
  readonly vrrp: {
    state(instance: string): VrrpState | undefined;
    onChange(listener: (instance: string, state: VrrpState) => void): () => void;
  };
  /** The running data plane (read at start). */
  readonly dataPlane: () => DataPlane | undefined;
}

const roleOf = (state: VrrpState | undefined): SyncRole =>
  state === 'MASTER' ? 'master' : 'backup';

export class ConnectionSyncService implements Service {
  readonly name = 'connection sync';
  private sync: ConnectionSync | undefined;
  /** The kernel's sync daemons, when some service runs on IPVS. */
  private kernel: IpvsSyncDaemons | undefined;
  private started = false;
  private readonly unsubscribe: () => void;
  private readonly logger: Logger;

  constructor(private readonly options: ConnectionSyncServiceOptions) {
    this.logger = options.logger.child({ service: 'connection-sync' });
    // Subscribed now so no transition between VRRP's start and ours is missed.
    this.unsubscribe = options.vrrp.onChange((instance, state) => {
      if (instance !== options.settings.vrrpInstance || !this.started) return;
      this.switchTo(roleOf(state)).catch((err: unknown) => {
        this.logger.error({ err }, `connection sync cannot switch to ${roleOf(state)}`);
      });
    });
  }

  /** Counters for metrics and status; undefined before start. */
  counters(): ConnectionSyncCounters | undefined {
    return this.sync?.counters();
  }

  async start(): Promise<void> {
    const plane = this.options.dataPlane();
    const { settings } = this.options;
    const port = xdpSyncPort(plane);
    if (port !== undefined) {
      this.sync = new ConnectionSync(
        { ...settings, maxLength: settings.maxLength ?? IPVS_SYNC_DEFAULT_MAXLEN },
        {
          port,
          clock: this.options.clock,
          logger: this.logger,
          openSender: openSyncSender,
          openReceiver: openSyncReceiver,
        },
      );
    }
    if (hasIpvs(plane)) {
      this.kernel = new IpvsSyncDaemons(await IpvsNetlink.open(), {
        interface: settings.interface,
        syncId: settings.syncId,
        ...(settings.maxLength !== undefined ? { maxLength: settings.maxLength } : {}),
        group: settings.group,
        port: settings.port,
        ttl: settings.ttl,
      });
    }
    if (this.sync === undefined && this.kernel === undefined) {
      this.logger.warn(
        'connection sync is configured but no virtual server runs; nothing is synced',
      );
      return;
    }
    try {
      await this.switchTo(roleOf(this.options.vrrp.state(settings.vrrpInstance)));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.started = true;
  }

  private async switchTo(role: SyncRole): Promise<void> {
    await this.sync?.setRole(role);
    if (this.kernel !== undefined) {
      await this.kernel.setRole(role);
      this.logger.info({ role }, `IPVS ${role} sync daemon started`);
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.started = false;
    try {
      await this.sync?.close();
    } finally {
      this.sync = undefined;
      const kernel = this.kernel;
      this.kernel = undefined;
      try {
        // Still VRRP master here (VRRP stops after connection sync): the backups still receive.
        if (kernel !== undefined && (await kernel.stopMaster())) await this.handOffIpvsTable();
      } finally {
        await kernel?.close();
      }
    }
  }

  /**
   * Sends the kernel's connection table in the kernel's sync protocol, since
   * the stopped master daemon dropped what it had not sent yet
   * (src/sync/ipvs-table-handoff.ts). A failure is logged: the stop goes on.
   */
  private async handOffIpvsTable(): Promise<void> {
    const ipvs = ipvsPart(this.options.dataPlane());
    if (ipvs === undefined) return;
    const { settings, clock } = this.options;
    try {
      const sender = await openSyncSender(settings, (err) =>
        this.logger.warn({ err: err.message }, `connection sync: ${err.message}`),
      );
      try {
        const result = await handOffIpvsConnections({
          services: new IpvsServiceIndex(ipvs.services()),
          timeouts: await ipvs.timeouts(),
          syncId: settings.syncId,
          maxLength: settings.maxLength ?? IPVS_SYNC_DEFAULT_MAXLEN,
          sender,
          clock,
          pause: () => new Promise((resolve) => clock.setTimer(1, resolve)),
        });
        const fields = { ...result, elapsedMs: Math.round(result.elapsedMs) };
        const what = `connection sync: sent ${result.sentConnections} of the ${result.listed} IPVS connections to the backups before handing over (${fields.elapsedMs} ms)`;
        if (result.cut === undefined) this.logger.info(fields, what);
        else this.logger.warn(fields, `${what}; the ${result.cut} bound cut it short`);
      } finally {
        sender.close();
      }
    } catch (err) {
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'connection sync: cannot send the IPVS connection table before handing over',
      );
    }
  }
}

function ipvsPart(plane: DataPlane | undefined): IpvsDataPlane | undefined {
  const ipvs = plane instanceof SplitDataPlane ? plane.part('ipvs') : plane;
  return ipvs instanceof IpvsDataPlane ? ipvs : undefined;
}

function hasIpvs(plane: DataPlane | undefined): boolean {
  return ipvsPart(plane) !== undefined;
}

function xdpSyncPort(plane: DataPlane | undefined): ConnectionSyncPort | undefined {
  const xdp = plane instanceof SplitDataPlane ? plane.part('xdp') : plane;
  return xdp instanceof XdpDataPlane ? xdp.connectionSync() : undefined;
}
