/**
 * Runtime changes to reals made through the control socket, like
 * `ipvsadm -e ... -w N`: a weight override or quiesce (weight 0, the
 * configured weight kept for restore). They sit on top of what health checks
 * conclude, so a real that goes down and comes back keeps its override; the
 * next reload clears them all, as keepalived's reload rewrites what ipvsadm
 * changed by hand.
 */
import type { ServiceKey } from '../dataplane/dataplane.js';
import type { DesiredService } from './desired-services.js';
import { realKey } from './service-mapping.js';
import { serviceKey } from './spec-equality.js';

export type RealOverride =
  | { readonly kind: 'weight'; readonly weight: number }
  | { readonly kind: 'quiesce' };

export class RuntimeOverrides {
  private readonly byReal = new Map<string, RealOverride>();

  set(service: ServiceKey, address: string, port: number, override: RealOverride): void {
    this.byReal.set(key(service, address, port), override);
  }

  /** Removes the override; false when there was none. */
  clear(service: ServiceKey, address: string, port: number): boolean {
    return this.byReal.delete(key(service, address, port));
  }

  get(service: ServiceKey, address: string, port: number): RealOverride | undefined {
    return this.byReal.get(key(service, address, port));
  }

  clearAll(): void {
    this.byReal.clear();
  }

  get size(): number {
    return this.byReal.size;
  }

  /** The services with overridden weights applied to the reals health checks keep. */
  apply(services: readonly DesiredService[]): DesiredService[] {
    if (this.byReal.size === 0) return [...services];
    return services.map((service) => ({
      ...service,
      reals: service.reals.map((real) => {
        const override = this.get(service.spec, real.address, real.port);
        if (override === undefined) return real;
        // inhibit_on_failure keeps a failed real at weight 0: an override never revives it.
        if (real.weight === 0) return real;
        return { ...real, weight: override.kind === 'quiesce' ? 0 : override.weight };
      }),
    }));
  }
}

function key(service: ServiceKey, address: string, port: number): string {
  return `${serviceKey(service)}|${realKey(address, port)}`;
}
