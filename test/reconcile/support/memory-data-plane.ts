import type { NextHop } from '../../../src/dataplane/dataplane.js';
import type { NextHopResolver } from '../../../src/reconcile/next-hop-resolver.js';

export { MemoryDataPlane } from '../../../src/dataplane/testing/memory-data-plane.js';

/** Next hops from a table; addresses missing from it are unreachable. */
export class TableNextHops implements NextHopResolver {
  readonly asked: string[] = [];
  constructor(readonly table: Map<string, NextHop> = new Map()) {}

  resolve(address: string): Promise<NextHop> {
    this.asked.push(address);
    const hop = this.table.get(address);
    return hop === undefined
      ? Promise.reject(new Error(`${address} did not answer address resolution`))
      : Promise.resolve(hop);
  }

  forget(): void {}
}

/** A next hop with a MAC derived from the address's last byte. */
export function hopFor(address: string): NextHop {
  const last = Number(address.split('.').pop());
  return { interface: 'eth0', mac: `02:00:00:00:00:${last.toString(16).padStart(2, '0')}` };
}
