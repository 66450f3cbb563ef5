import { canonicalAddress } from '../../net/address.js';
import type { AnnouncedRoutes } from '../announced-routes.js';

/** An in-memory routing table for BGP announcement tests; `routes` is what a BGP daemon would see. */
export class MemoryAnnouncedRoutes implements AnnouncedRoutes {
  readonly routes = new Set<string>();
  closed = false;

  constructor(initial: readonly string[] = []) {
    for (const vip of initial) this.routes.add(canonicalAddress(vip));
  }

  async list(): Promise<string[]> {
    return [...this.routes];
  }

  async add(vip: string): Promise<void> {
    if (this.routes.has(vip)) throw new Error(`route to ${vip} exists`);
    this.routes.add(vip);
  }

  async remove(vip: string): Promise<void> {
    this.routes.delete(vip);
  }

  close(): void {
    this.closed = true;
  }
}
