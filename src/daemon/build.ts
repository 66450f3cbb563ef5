import type { Config } from '../config/model.js';
import type { Logger } from '../log.js';
import type { Clock } from '../time/clock.js';
import type { Service } from './service.js';

export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** The services `lbctl up` runs for a configuration, in start order. */
export function buildServices(context: ServiceContext): Service[] {
  const services: Service[] = [];
  void context;
  return services;
}
