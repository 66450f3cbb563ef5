import type { Service } from '../service.js';
import type { VrrpInstanceStatus } from '../status/status-report.js';
import type { VrrpEngineView } from '../vrrp/engine-view.js';
import type { InstanceStateSource } from './instance-state-source.js';
import type { Reloadable } from './reload.js';
import type { DataPlaneHealthSource } from './vrrp-service.js';

/**
 * VRRP as the daemon's other services see it, whether the engine runs on the
 * main thread (VrrpService) or on a thread of its own (VrrpThread, as
 * `lbctl up` runs it).
 */
export interface VrrpRunner extends Service, Reloadable, InstanceStateSource {
  /** Follow the data plane's health (called before start). */
  trackDataPlane(source: DataPlaneHealthSource): void;
  /** Each instance as `lbctl status` shows it. */
  instanceStatus(): Promise<VrrpInstanceStatus[]>;
  /** The engine's instances and counters now (metrics, dumps); undefined before start. */
  engineView(): Promise<VrrpEngineView | undefined>;
}
