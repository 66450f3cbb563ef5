import type { BgpSettings } from '../config/model.js';
import type { Logger } from '../log.js';
import type { AnnouncedRoutes } from '../netlink/announced-routes.js';
import type { Service } from '../service.js';
import type { Clock, Timer } from '../time/clock.js';
import { type AnnounceCandidate, announcedVips, type DirectorCondition } from './announced-vips.js';

/** What announcement follows: the virtual servers' health and the director's condition. */
export interface AnnounceSources {
  candidates(): readonly AnnounceCandidate[];
  condition(): DirectorCondition;
  /** Subscribes to changes of either; returns the function that stops listening. */
  onChange(listener: () => void): () => void;
}

export interface BgpServiceOptions {
  readonly settings: BgpSettings;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sources: AnnounceSources;
  /** Opens the routing table the BGP daemon learns (KernelAnnouncedRoutes; in memory in tests). */
  readonly openRoutes: (table: number) => AnnouncedRoutes;
  /** How often the table is compared with what should be announced, catching hand edits (ms). */
  readonly recheckMs?: number;
}

/**
 * Active/active with BGP: keeps one route per servable VIP in the table the
 * BGP daemon announces from, withdrawing a VIP on quorum loss, VRRP FAULT or
 * a failed data-plane update and announcing it again on recovery. Starts
 * after the virtual servers (nothing is announced before the data plane
 * runs) and closes before them: the withdraw goes out first, then it waits
 * `withdrawDelayMs` for routers to move traffic away before the data plane
 * stops. At start it empties the table of a crashed run's routes.
 */
export class BgpService implements Service {
  readonly name = 'bgp';
  private readonly logger: Logger;
  private routes: AnnouncedRoutes | undefined;
  private announced = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private timer: Timer | undefined;
  private pass: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: BgpServiceOptions) {
    this.logger = options.logger.child({ service: 'bgp' });
  }

  /** The VIPs in the table now. */
  get announcedVips(): readonly string[] {
    return [...this.announced];
  }

  async start(): Promise<void> {
    const { table } = this.options.settings;
    const routes = this.options.openRoutes(table);
    this.routes = routes;
    try {
      // Whatever the table holds is a previous run's: start from what is true now.
      this.announced = new Set(await routes.list());
      this.unsubscribe = this.options.sources.onChange(() => this.kick());
      await this.kick();
      this.schedule();
    } catch (err) {
      await this.close();
      throw err;
    }
    this.logger.info(
      { table, announced: this.announcedVips },
      `announcing ${this.announced.size} VIPs through routing table ${table}`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.timer?.cancel();
    await this.pass;
    const routes = this.routes;
    if (routes === undefined) return;
    const withdrawn = [...this.announced];
    for (const vip of withdrawn) await this.withdraw(routes, vip, 'lbctl is stopping');
    const delay = this.options.settings.withdrawDelayMs;
    if (withdrawn.length > 0 && delay > 0) {
      this.logger.info(`withdrew ${withdrawn.length} VIPs; stopping in ${delay} ms`);
      await new Promise<void>((resolve) => this.options.clock.setTimer(delay, resolve));
    }
    routes.close();
    this.routes = undefined;
  }

  /** Brings the table in line with what should be announced; passes never overlap. */
  private kick(): Promise<void> {
    this.pass = this.pass
      .then(() => this.apply())
      .catch((err: unknown) => {
        this.logger.error({ err }, `Cannot update the announced VIPs: ${(err as Error).message}`);
      });
    return this.pass;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.options.clock.setTimer(this.options.recheckMs ?? 1000, () => {
      void this.recheck().finally(() => this.schedule());
    });
  }

  /** Re-reads the table (a route removed by hand is put back) and re-applies. */
  private async recheck(): Promise<void> {
    const routes = this.routes;
    if (routes === undefined || this.closed) return;
    this.pass = this.pass.then(async () => {
      this.announced = new Set(await routes.list());
    });
    await this.kick();
  }

  private async apply(): Promise<void> {
    const routes = this.routes;
    if (routes === undefined || this.closed) return;
    const { sources } = this.options;
    const { announce, withheld } = announcedVips(sources.candidates(), sources.condition());
    for (const vip of [...this.announced]) {
      if (!announce.has(vip))
        await this.withdraw(routes, vip, withheld.get(vip) ?? 'no virtual server announces it');
    }
    for (const vip of announce) {
      if (this.announced.has(vip)) continue;
      await routes.add(vip);
      this.announced.add(vip);
      this.logger.info({ vip }, `announcing ${vip}`);
    }
  }

  private async withdraw(routes: AnnouncedRoutes, vip: string, reason: string): Promise<void> {
    await routes.remove(vip);
    this.announced.delete(vip);
    this.logger.warn({ vip, reason }, `withdrew ${vip}: ${reason}`);
  }
}
