import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import { MetricsService } from '../metrics/metrics-service.js';
import { KernelHostNetwork } from '../netlink/host-network.js';
import type { Clock } from '../time/clock.js';
import { systemDataPlanes } from './data-plane-factory.js';
import type { Service } from './service.js';
import { VirtualServerService } from './virtual-server-service.js';
import { VrrpService } from './vrrp-service.js';

export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * The services `lbctl up` runs for a configuration, in start order: metrics
 * first, since binding its port can fail and changes nothing anyone sees
 * (a busy port must stop the start before VRRP announces anything; it reads
 * the others lazily); then VRRP, so virtual servers with ha_suspend can
 * follow its states; then virtual servers.
 */
export function buildServices(context: ServiceContext): Service[] {
  const services: Service[] = [];
  let metrics: MetricsService | undefined;
  const vrrp = context.config.vrrpInstances.length > 0 ? new VrrpService(context) : undefined;
  if (vrrp !== undefined) services.push(vrrp);
  const virtualServers =
    context.config.virtualServers.length > 0
      ? new VirtualServerService({
          ...context,
          ...(vrrp !== undefined ? { instanceStates: vrrp } : {}),
          openHost: () => KernelHostNetwork.open(context.logger),
          dataPlanes: systemDataPlanes,
        })
      : undefined;
  if (virtualServers !== undefined) services.push(virtualServers);
  const listen = context.config.global.metricsListen;
  if (listen !== undefined) {
    const sources = {
      vrrp: () => vrrp?.engine,
      dataPlane: () => virtualServers?.dataPlane,
      virtualServers: () => virtualServers?.virtualServerStates() ?? [],
    };
    metrics = new MetricsService(listen, sources, context.logger);
  }
  return metrics === undefined ? services : [metrics, ...services];
}
