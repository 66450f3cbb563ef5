/** Services and reals for the IPVS row mapping's tests: a TCP rr service, a real of weight 1. */
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';

export const real = (
  address: string,
  port: number,
  forwarding: RealSpec['forwarding'],
): RealSpec => ({
  address,
  port,
  weight: 1,
  forwarding,
});
export const service = (
  spec: Partial<ServiceSpec> & Pick<ServiceSpec, 'vip' | 'port'>,
): ServiceSpec => ({
  protocol: 'tcp',
  scheduler: 'rr',
  ...spec,
});
