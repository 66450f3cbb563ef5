/**
 * Connection sync for services on kernel IPVS: the kernel syncs its own
 * connection table, so lbctl only starts and stops its sync daemons on VRRP
 * transitions, as keepalived does (ipvs_syncd_master / ipvs_syncd_backup:
 * stop the other role's daemon, start this one's).
 */
import { constants } from 'node:os';
import { NetlinkError } from '../../netlink/connection.js';
import type { IpvsNetlink, IpvsSyncDaemon } from './ipvs-netlink.js';

export type IpvsSyncSettings = Omit<IpvsSyncDaemon, 'state'>;

export class IpvsSyncDaemons {
  private role: 'master' | 'backup' | undefined;

  constructor(
    private readonly netlink: IpvsNetlink,
    private readonly settings: IpvsSyncSettings,
  ) {}

  async setRole(role: 'master' | 'backup'): Promise<void> {
    if (role === this.role) return;
    await this.stop(role === 'master' ? 'backup' : 'master');
    await this.stop(role);
    await this.netlink.startSyncDaemon({ ...this.settings, state: role });
    this.role = role;
  }

  /**
   * Stops the master daemon if it runs (the kernel frees its unsent buffer)
   * and says whether it did; the backup daemon is left as it is.
   */
  async stopMaster(): Promise<boolean> {
    if (this.role !== 'master') return false;
    await this.stop('master');
    this.role = undefined;
    return true;
  }

  /** Stops both daemons and closes the netlink socket. */
  async close(): Promise<void> {
    try {
      await this.stop('master');
      await this.stop('backup');
    } finally {
      this.role = undefined;
      this.netlink.close();
    }
  }

  /** Stops one daemon; one that does not run (ESRCH) is already stopped. */
  private async stop(state: 'master' | 'backup'): Promise<void> {
    try {
      await this.netlink.stopSyncDaemon(state);
    } catch (err) {
      if (!(err instanceof NetlinkError && err.errno === constants.errno.ESRCH)) throw err;
    }
  }
}
