import { requireFamily } from '../net/address.js';
import { RouteNetlink } from './rtnetlink.js';

/** The loopback interface: index 1 in every network namespace. */
const LOOPBACK_IFINDEX = 1;

/**
 * One host route per announced VIP in a routing table lbctl owns; the BGP
 * daemon learns the table (BIRD: a kernel protocol with `learn`) and
 * announces what it holds, so adding a route announces the VIP and removing
 * it withdraws it. The routes point at loopback and carry no traffic: the
 * table is read by the BGP daemon, not by the kernel's lookups (no rule
 * selects it).
 */
export interface AnnouncedRoutes {
  /** The VIPs the table holds now (canonical addresses). */
  list(): Promise<string[]>;
  add(vip: string): Promise<void>;
  remove(vip: string): Promise<void>;
  close(): void;
}

export class KernelAnnouncedRoutes implements AnnouncedRoutes {
  private readonly netlink = new RouteNetlink();

  constructor(private readonly table: number) {}

  async list(): Promise<string[]> {
    const routes = await this.netlink.listRouteDestinations(this.table);
    return routes.map((r) => r.slice(0, r.indexOf('/')));
  }

  async add(vip: string): Promise<void> {
    await this.netlink.addRoute(this.route(vip));
  }

  async remove(vip: string): Promise<void> {
    await this.netlink.deleteRoute(this.route(vip));
  }

  close(): void {
    this.netlink.close();
  }

  private route(vip: string) {
    const length = requireFamily(vip, 'announce a VIP') === 4 ? 32 : 128;
    return { destination: `${vip}/${length}`, ifindex: LOOPBACK_IFINDEX, table: this.table };
  }
}
