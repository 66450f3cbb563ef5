import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import type { Clock } from '../time/clock.js';
import type { Service } from './service.js';
import { VirtualServerService } from './virtual-server-service.js';
import { VrrpService } from './vrrp-service.js';

export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * The services `lbctl up` runs for a configuration, in start order: VRRP
 * first, so virtual servers with ha_suspend can follow its states.
 */
export function buildServices(context: ServiceContext): Service[] {
  const services: Service[] = [];
  const vrrp = context.config.vrrpInstances.length > 0 ? new VrrpService(context) : undefined;
  if (vrrp !== undefined) services.push(vrrp);
  if (context.config.virtualServers.length > 0) {
    services.push(
      new VirtualServerService(vrrp === undefined ? context : { ...context, instanceStates: vrrp }),
    );
  }
  return services;
}
