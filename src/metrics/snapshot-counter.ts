import { Counter, type Registry } from 'prom-client';

/**
 * A label-less counter whose value is read, at each scrape, from a running
 * component's own cumulative count (nothing when the component is not running).
 */
export function snapshotCounter<T>(
  registers: Registry[],
  source: () => T | undefined | Promise<T | undefined>,
  name: string,
  help: string,
  pick: (snapshot: T) => number,
): Counter {
  return new Counter({
    name,
    help,
    registers,
    async collect() {
      const snapshot = await source();
      this.reset();
      if (snapshot !== undefined) this.inc(pick(snapshot));
    },
  });
}
