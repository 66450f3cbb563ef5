import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../log.js';
import type { SyncCoordinator, VrrpInstance } from './instance.js';
import type { Notifier, NotifyCommands } from './notify.js';
import type { StateChange, VrrpState } from './state.js';

export interface SyncGroupOptions {
  readonly name: string;
  /** Instance names. */
  readonly members: readonly string[];
  readonly notify?: NotifyCommands;
}

/**
 * keepalived's vrrp_sync_group: members change state together. One member
 * in FAULT puts all in FAULT until every member is healthy again; one member
 * dropping to BACKUP takes the others out of MASTER; the group only goes
 * MASTER once every member's master-down timer has run out (prefer BACKUP
 * to avoid thrashing).
 */
export class SyncGroup implements SyncCoordinator {
  readonly name: string;
  private readonly options: SyncGroupOptions;
  private readonly members: VrrpInstance[];
  private readonly notify: NotifyCommands;
  private readonly notifier: Notifier | undefined;
  private readonly logger: Logger;
  private groupState: VrrpState = 'INIT';
  private syncing = false;

  constructor(
    options: SyncGroupOptions,
    members: VrrpInstance[],
    deps: { logger: Logger; notifier?: Notifier },
  ) {
    this.name = options.name;
    this.options = options;
    this.members = members;
    this.notify = options.notify ?? {};
    this.notifier = deps.notifier;
    this.logger = deps.logger.child({ syncGroup: options.name });
    for (const member of members) member.sync = this;
  }

  get state(): VrrpState {
    return this.groupState;
  }

  get memberInstances(): readonly VrrpInstance[] {
    return this.members;
  }

  /** True when `options` and `members` describe this very group (a reload may keep it). */
  sameAs(options: SyncGroupOptions, members: readonly VrrpInstance[]): boolean {
    return (
      isDeepStrictEqual(options, this.options) &&
      members.length === this.members.length &&
      members.every((m, i) => m === this.members[i])
    );
  }

  /**
   * A reload formed this group (new, or its members or settings changed)
   * from running instances. As keepalived 2.2.7: it is MASTER only when
   * every member is; a member in FAULT takes the others to FAULT; otherwise
   * masters step down to BACKUP (addresses released, no priority-0 advert).
   * Members not started yet (new instances) join with their first transition.
   */
  adoptMemberStates(): void {
    const running = this.members.filter((m) => m.state !== 'INIT' && m.state !== 'STOP');
    if (running.length === 0) return;
    const reason = `sync group ${this.name} changed by reload`;
    this.syncing = true;
    try {
      if (running.some((m) => m.state === 'FAULT')) {
        for (const m of running) m.syncToFault(reason);
        this.setState('FAULT');
      } else if (
        running.length === this.members.length &&
        running.every((m) => m.state === 'MASTER')
      ) {
        // keepalived marks such a group MASTER without notifying.
        this.groupState = 'MASTER';
      } else {
        for (const m of running) m.syncToBackup(reason);
        this.setState('BACKUP');
      }
    } finally {
      this.syncing = false;
    }
  }

  memberChanged(member: VrrpInstance, change: StateChange): void {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const reason = `sync group ${this.name}: ${member.name} entered ${change.to}`;
      const others = this.members.filter((m) => m !== member);
      if (change.to === 'FAULT') {
        for (const other of others) other.syncToFault(reason);
        this.setState('FAULT');
      } else if (change.to === 'MASTER') {
        for (const other of others) other.syncToMaster(reason);
        this.setState('MASTER');
      } else if (change.to === 'BACKUP') {
        for (const other of others) other.syncToBackup(reason);
        if (this.members.every((m) => m.state === 'BACKUP')) this.setState('BACKUP');
      }
    } finally {
      this.syncing = false;
    }
  }

  mayBecomeMaster(member: VrrpInstance): boolean {
    return this.members.every(
      (m) => m === member || m.state === 'MASTER' || (m.state === 'BACKUP' && m.wantsMaster),
    );
  }

  mayLeaveFault(member: VrrpInstance): boolean {
    if (this.members.some((m) => m !== member && m.hasOwnFault)) return false;
    // Everyone is healthy: the whole group leaves FAULT through BACKUP.
    this.syncing = true;
    try {
      for (const m of this.members) {
        if (m !== member) m.syncToBackup(`sync group ${this.name} healthy again`);
      }
    } finally {
      this.syncing = false;
    }
    return true;
  }

  private setState(state: VrrpState): void {
    if (state === this.groupState) return;
    this.logger.info({ from: this.groupState, to: state }, `sync group entering ${state}`);
    this.groupState = state;
    if (state !== 'INIT') void this.notifier?.groupChanged(this.name, state, this.notify);
  }
}
