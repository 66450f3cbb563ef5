import { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import type { DesiredService } from '../src/reconcile/desired-services.js';
import { Reconciler } from '../src/reconcile/reconciler.js';
import { systemClock } from '../src/time/clock.js';
import { largeSite, loopbackHops, SERVICES } from './reconcile-large.js';

export interface LargePlane {
  readonly plane: XdpDataPlane;
  readonly site: readonly DesiredService[];
  close(): Promise<void>;
}

/**
 * A loaded XDP data plane (not attached, not pinned) with the large site
 * applied: SERVICES services × 32 reals unique per service, and a
 * 1,048,576-entry connection table (the default size), as an operator's
 * director at scale holds them, for the benches that read it back.
 */
export async function openLargePlane(name: string): Promise<LargePlane> {
  const site = largeSite('unique');
  const plane = await XdpDataPlane.open({
    instance: `bench-${name}-${process.pid}`,
    pin: false,
    maxServices: SERVICES,
    maxReals: SERVICES * 64,
    connections: 1 << 20,
    persistenceEntries: 1024,
  });
  const reconciler = new Reconciler({
    dataPlane: plane,
    nextHops: loopbackHops,
    clock: systemClock,
  });
  try {
    await reconciler.set('bench', site);
  } catch (err) {
    await plane.destroy();
    throw err;
  }
  return {
    plane,
    site,
    close: async () => {
      await reconciler.close();
      await plane.destroy();
    },
  };
}
