import type { DataPlane, ServiceKey } from '../dataplane/dataplane.js';
import type { DataPlaneSupervisor } from '../dataplane/supervisor.js';
import type { DesiredServiceState } from '../health/desired-state.js';
import type { RealHealth } from '../health/virtual-server-health.js';
import type { ConnectionSyncCounters } from '../sync/connection-sync.js';
import type { VrrpEngineView } from '../vrrp/engine-view.js';
import type { SchedulingReading } from './scheduling-collectors.js';

/** One running virtual server as the metrics read it. */
export interface VirtualServerState {
  /** How logs name it, e.g. "TCP 10.0.0.3:80". */
  readonly name: string;
  /** Its data-plane services: one, or one per address of a virtual_server_group. */
  readonly services: readonly ServiceKey[];
  readonly state: DesiredServiceState;
  readonly reals: readonly RealHealth[];
  readonly suspended: boolean;
}

/** Where the collectors read from at scrape time; each part may be absent. */
export interface MetricsSources {
  /** The VRRP engine's instances and counters (read from its thread under `lbctl up`). */
  vrrp(): VrrpEngineView | undefined | Promise<VrrpEngineView | undefined>;
  dataPlane(): DataPlane | undefined;
  /** The XDP data plane's supervisor (health, restores). */
  dataPlaneSupervision?(): DataPlaneSupervisor | undefined;
  virtualServers(): readonly VirtualServerState[];
  /** Connection sync, when configured. */
  connectionSync?(): ConnectionSyncCounters | undefined;
  /** The VRRP thread's realtime scheduling (priority, demotions). */
  scheduling?(): SchedulingReading | undefined | Promise<SchedulingReading | undefined>;
}
