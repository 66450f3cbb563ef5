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
import { IPVS_SYNC_DEFAULT_MAXLEN } from '../sync/ipvs-sync-codec.js';
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
      await kernel?.close();
    }
  }
}

function hasIpvs(plane: DataPlane | undefined): boolean {
  const ipvs = plane instanceof SplitDataPlane ? plane.part('ipvs') : plane;
  return ipvs instanceof IpvsDataPlane;
}

function xdpSyncPort(plane: DataPlane | undefined): ConnectionSyncPort | undefined {
  const xdp = plane instanceof SplitDataPlane ? plane.part('xdp') : plane;
  return xdp instanceof XdpDataPlane ? xdp.connectionSync() : undefined;
}
