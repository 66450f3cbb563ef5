import { countConnectionsByEndpoint } from '../dataplane/conn-listing.js';
import type { DataPlane, DataPlaneCounters } from '../dataplane/dataplane.js';
import { kernelHz } from '../dataplane/kernel-hz.js';
import { programNowNs } from '../dataplane/program-clock.js';
import { XdpDataPlane } from '../dataplane/xdp/xdp-dataplane.js';
import { connTableMaps } from '../status/status-collector.js';
import { LabelTexts } from './labels.js';
import type { MetricsSources, VirtualServerState } from './sources.js';

export type ConnectionCounts = Awaited<ReturnType<typeof countConnectionsByEndpoint>>;

/**
 * What one scrape reads, each at most once and only when a family asks:
 * the data plane's counters, the connection table's live counts (read in
 * chunks off the event loop), the virtual servers' state, label texts.
 */
export class Scrape {
  readonly labels = new LabelTexts();
  private countersRead: Promise<DataPlaneCounters | undefined> | undefined;
  private connectionsRead: Promise<ConnectionCounts | undefined> | undefined;
  private virtualServersRead: readonly VirtualServerState[] | undefined;

  constructor(private readonly sources: MetricsSources) {}

  /** The data plane at this scrape (undefined without one). */
  dataPlane(): DataPlane | undefined {
    return this.sources.dataPlane();
  }

  counters(): Promise<DataPlaneCounters | undefined> {
    this.countersRead ??= Promise.resolve(this.sources.dataPlane()?.counters());
    return this.countersRead;
  }

  /** Live connections by endpoint, from the XDP connection table (undefined on other data planes). */
  connections(): Promise<ConnectionCounts | undefined> {
    this.connectionsRead ??= (async () => {
      const plane = this.sources.dataPlane();
      if (!(plane instanceof XdpDataPlane)) return undefined;
      const nowNs = await programNowNs(kernelHz());
      return countConnectionsByEndpoint(connTableMaps(plane), nowNs);
    })();
    return this.connectionsRead;
  }

  virtualServers(): readonly VirtualServerState[] {
    this.virtualServersRead ??= this.sources.virtualServers();
    return this.virtualServersRead;
  }
}
