import {
  type DataPlane,
  type NextHop,
  type RealSpec,
  type ServiceSpec,
  serviceName,
} from '../dataplane/dataplane.js';
import { type Logger, silentLogger } from '../log.js';
import type { Clock, Timer } from '../time/clock.js';
import { LoopSlicer } from '../time/loop-slice.js';
import type { DesiredReal, DesiredService } from './desired-services.js';
import type { NextHopResolver } from './next-hop-resolver.js';
import { realKey } from './service-mapping.js';
import {
  sameReals,
  sameRealsIgnoringNextHop,
  sameServiceSettings,
  serviceKey,
} from './spec-equality.js';

export interface ReconcilerOptions {
  readonly dataPlane: DataPlane;
  readonly nextHops: NextHopResolver;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** First delay before retrying after a failed apply; doubles up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

/** What one pass changed, for logs, tests and benchmarks. */
export interface ApplyReport {
  readonly set: number;
  readonly removed: number;
  readonly unchanged: number;
  readonly failed: number;
}

const EMPTY_REPORT: ApplyReport = { set: 0, removed: 0, unchanged: 0, failed: 0 };

/**
 * Keeps the data plane equal to the desired services. Owners (one per
 * virtual server) publish their services; every pass diffs the union against
 * what the data plane reports as applied and writes only the difference. A
 * service's change goes through one setService call, which the data plane
 * applies atomically. Passes never overlap; changes arriving during a pass
 * are coalesced into the next. A failed write is logged and retried later
 * with backoff, so one bad real never takes the daemon down.
 *
 * Everything that changes the data plane at runtime goes through `set`: a
 * reloaded configuration is one `set` per virtual server (an empty list for
 * one that left), and a new weight for a real is its owner's services
 * published again with that weight; only the difference is written.
 */
export class Reconciler {
  private readonly plane: DataPlane;
  private readonly nextHops: NextHopResolver;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly owners = new Map<string, readonly DesiredService[]>();
  private running: Promise<void> | undefined;
  private dirty = false;
  private closed = false;
  private retryTimer: Timer | undefined;
  private retryDelay: number;
  private lastReport: ApplyReport = EMPTY_REPORT;

  constructor(options: ReconcilerOptions) {
    this.plane = options.dataPlane;
    this.nextHops = options.nextHops;
    this.clock = options.clock;
    this.logger = options.logger ?? silentLogger();
    this.retryMs = options.retryMs ?? 1000;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.retryDelay = this.retryMs;
  }

  /**
   * Replaces the services `owner` wants (an empty list withdraws them) and
   * starts a pass. Resolves once this state, or a newer one, has been tried.
   */
  set(owner: string, services: readonly DesiredService[]): Promise<void> {
    this.owners.set(owner, services);
    return this.kick();
  }

  /** Runs a pass even if nothing changed, e.g. after the data plane was touched by hand. */
  sync(): Promise<void> {
    return this.kick();
  }

  /** Resolves when no pass is running (a pass started by a retry included). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** The outcome of the latest pass. */
  report(): ApplyReport {
    return this.lastReport;
  }

  /** Stops retrying and waits for a pass in progress; leaves the data plane as it is. */
  async close(): Promise<void> {
    this.closed = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    await this.running;
  }

  private kick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.dirty = true;
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      this.retryTimer?.cancel();
      this.retryTimer = undefined;
      this.lastReport = await this.pass();
      if (this.lastReport.failed > 0) this.scheduleRetry();
      else this.retryDelay = this.retryMs;
    }
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.maxRetryMs);
    this.logger.warn({ retryInMs: delay }, `retrying the data plane update in ${delay} ms`);
    this.retryTimer = this.clock.setTimer(delay, () => {
      this.retryTimer = undefined;
      void this.kick();
    });
  }

  /**
   * The union of what every owner wants, keyed by service. Sliced: thousands
   * of services (and the first pass's cold code) must not hold the loop.
   */
  private async wanted(slicer: LoopSlicer): Promise<Map<string, DesiredService>> {
    const wanted = new Map<string, DesiredService>();
    const ownerOf = new Map<string, string>();
    // A set() while this yields makes another pass; this one reads the owners as they were.
    for (const [owner, services] of [...this.owners]) {
      for (const service of services) {
        await slicer.maybeYield();
        const key = serviceKey(service.spec);
        const first = ownerOf.get(key);
        if (first !== undefined) {
          this.logger.error(
            { service: serviceName(service.spec), owner, first },
            `Cannot apply ${serviceName(service.spec)} for ${owner}: ${first} already defines it`,
          );
          continue;
        }
        ownerOf.set(key, owner);
        wanted.set(key, service);
      }
    }
    return wanted;
  }

  private async pass(): Promise<ApplyReport> {
    // A pass over thousands of services must not hold the event loop the timers share.
    const slicer = new LoopSlicer();
    const wanted = await this.wanted(slicer);
    const applied = new Map<string, { service: ServiceSpec; reals: readonly RealSpec[] }>();
    for (const s of this.plane.services()) {
      await slicer.maybeYield();
      applied.set(serviceKey(s.service), s);
    }
    let set = 0;
    let removed = 0;
    let unchanged = 0;
    let failed = 0;
    // Services are independent: the data plane may take a few at once (each still atomic).
    const limit = Math.max(1, this.plane.concurrentServiceWrites ?? 1);
    const inFlight = new Set<Promise<void>>();
    for (const [key, want] of wanted) {
      await slicer.maybeYield();
      if (this.closed) break;
      const have = applied.get(key);
      if (
        have !== undefined &&
        sameServiceSettings(have.service, want.spec) &&
        sameRealsIgnoringNextHop(have.reals, want.reals)
      ) {
        unchanged++;
        continue;
      }
      const write: Promise<void> = this.applyService(want, have)
        .catch((): 'failed' => 'failed')
        .then((outcome) => {
          if (outcome === 'set') set++;
          else if (outcome === 'unchanged') unchanged++;
          else failed++;
          inFlight.delete(write);
        });
      inFlight.add(write);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    for (const [key, have] of applied) {
      await slicer.maybeYield();
      if (this.closed || wanted.has(key)) continue;
      try {
        await this.plane.removeService(have.service);
        removed++;
        this.logger.info(
          { service: serviceName(have.service) },
          `removed ${serviceName(have.service)} from the data plane`,
        );
      } catch (err) {
        failed++;
        this.logger.error(
          { service: serviceName(have.service), err },
          `Cannot remove ${serviceName(have.service)}: ${(err as Error).message}`,
        );
      }
    }
    await this.plane.settle?.();
    return { set, removed, unchanged, failed };
  }

  /** Writes `want`, which the pass found different from `have` (next hops aside). */
  private async applyService(
    want: DesiredService,
    have: { service: ServiceSpec; reals: readonly RealSpec[] } | undefined,
  ): Promise<'set' | 'unchanged' | 'failed'> {
    const name = serviceName(want.spec);
    const { reals, unreachable } =
      want.nextHops === false
        ? { reals: [...want.reals], unreachable: [] }
        : await this.withNextHops(want.reals, have?.reals ?? []);
    let outcome: 'set' | 'unchanged' = 'unchanged';
    try {
      // The pass calls this only for a service that differs from `have` in its settings
      // or reals; only leaving unreachable reals out can make the two equal again.
      if (
        have === undefined ||
        unreachable.length === 0 ||
        !sameServiceSettings(have.service, want.spec) ||
        !sameReals(have.reals, reals)
      ) {
        await this.plane.setService(want.spec, reals);
        outcome = 'set';
        // A thousand services' real lists are not formatted for a logger that drops them.
        if (this.logger.isLevelEnabled('info')) {
          this.logger.info(
            {
              service: name,
              reals: reals.map((r) => `${realKey(r.address, r.port)}*${r.weight}`),
            },
            `applied ${name}: ${describeReals(reals)}`,
          );
        }
      }
    } catch (err) {
      // A rejected set leaves the previous version of the service in place.
      for (const r of reals) this.nextHops.forget(r.address);
      this.logger.error({ service: name, err }, `Cannot apply ${name}: ${(err as Error).message}`);
      return 'failed';
    }
    return unreachable.length > 0 ? 'failed' : outcome;
  }

  /** Adds next hops; a real whose next hop is unknown is left out until a later pass finds it. */
  private async withNextHops(
    wanted: readonly DesiredReal[],
    applied: readonly RealSpec[],
  ): Promise<{ reals: RealSpec[]; unreachable: string[] }> {
    const reals: RealSpec[] = [];
    const unreachable: string[] = [];
    // Built only when a next hop is missing: most passes find them all.
    let previous: Map<string, RealSpec> | undefined;
    const hops = await Promise.allSettled(wanted.map((r) => this.nextHops.resolve(r.address)));
    wanted.forEach((real, i) => {
      const hop = hops[i];
      if (hop?.status === 'fulfilled') {
        reals.push(withNextHop(real, hop.value));
        return;
      }
      const reason = (hop?.reason as Error | undefined)?.message ?? 'unknown';
      previous ??= new Map(applied.map((r) => [realKey(r.address, r.port), r]));
      const before = previous.get(realKey(real.address, real.port))?.via;
      if (before !== undefined) {
        reals.push(withNextHop(real, before));
        return;
      }
      unreachable.push(real.address);
      this.logger.warn(
        { real: realKey(real.address, real.port), reason },
        `Cannot forward to real ${realKey(real.address, real.port)} yet: ${reason}`,
      );
    });
    return { reals, unreachable };
  }
}

/**
 * `real` with its next hop. Object.assign rather than a spread: V8 (Node 20) spreads
 * an object into a literal with another property ~4x slower, and an apply does it
 * for every real.
 */
function withNextHop(real: DesiredReal, via: NextHop): RealSpec {
  return Object.assign({}, real, { via });
}

function describeReals(reals: readonly RealSpec[]): string {
  if (reals.length === 0) return 'no reals';
  const shown = reals.slice(0, 8).map((r) => `${realKey(r.address, r.port)} weight ${r.weight}`);
  return reals.length > 8 ? `${shown.join(', ')} and ${reals.length - 8} more` : shown.join(', ');
}
