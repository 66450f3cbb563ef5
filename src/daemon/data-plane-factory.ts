import type { XdpModeChoice } from '../config/model.js';
import type { DataPlane, DataPlaneKind, Timeouts } from '../dataplane/dataplane.js';
import { IpvsDataPlane } from '../dataplane/ipvs/ipvs-dataplane.js';
import { type TunnelOptions, XdpDataPlane } from '../dataplane/xdp/xdp-dataplane.js';
import type { Logger } from '../log.js';
import type { LinkDirectory } from '../netlink/host-network.js';
import { defaultRunDir } from '../paths.js';

/** What the virtual-server service asks of a data plane when it starts. */
export interface DataPlaneRequest {
  readonly kind: DataPlaneKind;
  /** Names its persistent state (pins, kernel services it owns). */
  readonly instance: string;
  readonly pinRoot: string;
  /** Where VIP (and NAT reply) traffic arrives. */
  readonly interfaces: readonly string[];
  readonly attachMode: XdpModeChoice;
  readonly timeouts: Timeouts;
  readonly maxServices: number;
  readonly maxReals: number;
  /** Entries of the XDP connection table (global.connectionTableSize). */
  readonly connections: number;
  readonly tunnel?: TunnelOptions;
  /** Connection sync is configured: XDP reports flows for it (docs/connection-sync.md). */
  readonly connectionSync?: boolean;
  readonly links: LinkDirectory;
  readonly logger: Logger;
  /** Where IPVS keeps its record of the services it created (default /run/lbctl). */
  readonly runDir?: string;
}

/** Opens the data plane of one kind; `lbctl up` passes `systemDataPlanes`, tests an in-memory one. */
export type DataPlaneFactory = (request: DataPlaneRequest) => Promise<DataPlane>;

/** The data planes of this host: XDP, and kernel IPVS over generic netlink. */
export const systemDataPlanes: DataPlaneFactory = async (request) => {
  if (request.kind === 'ipvs') {
    return IpvsDataPlane.open({
      instance: request.instance,
      runDir: request.runDir ?? defaultRunDir,
      timeouts: request.timeouts,
      logger: request.logger,
    });
  }
  const plane = await XdpDataPlane.open({
    instance: request.instance,
    pinRoot: request.pinRoot,
    interfaces: request.interfaces,
    attachMode: request.attachMode,
    timeouts: request.timeouts,
    maxServices: request.maxServices,
    maxReals: request.maxReals,
    connections: request.connections,
    ...(request.tunnel !== undefined ? { tunnel: request.tunnel } : {}),
    connectionSync: request.connectionSync === true,
    links: request.links,
    logger: request.logger,
  });
  request.logger.info(
    { interfaces: plane.linkModes() },
    `XDP attached to ${request.interfaces.join(', ')}`,
  );
  return plane;
};
