/**
 * What a data plane can forward, declared once beside each data plane
 * (XDP's in src/dataplane/xdp/capabilities.ts, derived from its ABI). `lbctl
 * validate`, `lbctl up` (src/config/data-plane-choice.ts) and the docs all
 * read these declarations, so they cannot disagree.
 */
import type {
  DataPlaneKind,
  Forwarding,
  Protocol,
  Scheduler,
  TunnelChecksum,
  TunnelType,
} from './dataplane.js';

export interface DataPlaneCapabilities {
  readonly kind: DataPlaneKind;
  /** How logs and errors name it, e.g. "the XDP data plane". */
  readonly title: string;
  readonly schedulers: ReadonlySet<Scheduler>;
  /** Schedulers that can also hash the client's port (ipvsadm sh-port, mh-port). */
  readonly sourcePortHashing: ReadonlySet<Scheduler>;
  readonly forwarding: ReadonlySet<Forwarding>;
  /** Encapsulations of TUN reals (keepalived `lvs_method TUN type ...`). */
  readonly tunnelTypes: ReadonlySet<TunnelType>;
  /** Checksum options of those tunnels (nocsum is no option: every tunnel has it). */
  readonly tunnelChecksums: ReadonlySet<TunnelChecksum>;
  readonly protocols: ReadonlySet<Protocol>;
  /** Firewall-mark services (keepalived `virtual_server fwmark N`). */
  readonly fwmark: boolean;
  /** NAT reals behind an all-ports (port 0) service. */
  readonly natAllPorts: boolean;
  /** Upper/lower connection thresholds per real (keepalived uthreshold/lthreshold). */
  readonly connectionThresholds: boolean;
  /**
   * A real on the director itself (keepalived's `sorry_server 127.0.0.1 80`) is a
   * forwarding target: its packets go up the director's own stack.
   */
  readonly localReals: boolean;
  /** Needs each real's next hop (interface and MAC) to forward to it (`RealSpec.via`). */
  readonly nextHops: boolean;
  /** Largest real set of one service (the sorry server counts). */
  readonly maxRealsPerService: number;
  /** Why a scheduler it lacks is missing, for error messages. */
  readonly schedulerGap: string;
}

/** What one virtual server asks of a data plane. */
export interface ServiceNeeds {
  readonly protocol: Protocol;
  readonly scheduler: Scheduler;
  /** The scheduler also hashes the client's port (sh-port, mh-port). */
  readonly hashSourcePort?: boolean;
  /** Forwarding methods of its reals and sorry server. */
  readonly forwarding: ReadonlySet<Forwarding>;
  /** Encapsulations and checksum options of its TUN reals (absent: plain IPIP). */
  readonly tunnelTypes?: ReadonlySet<TunnelType>;
  readonly tunnelChecksums?: ReadonlySet<TunnelChecksum>;
  readonly fwmark: boolean;
  /** Some address of it is an all-ports (port 0) service. */
  readonly allPorts: boolean;
  /** Reals plus the sorry server. */
  readonly realCount: number;
  /** Some real has an upper or lower connection threshold. */
  readonly connectionThresholds?: boolean;
}

/** One thing a data plane lacks, and the configuration field that asks for it. */
export interface MissingCapability {
  readonly field:
    | 'protocol'
    | 'scheduler'
    | 'lbKind'
    | 'tunnel'
    | 'fwmark'
    | 'port'
    | 'realServers';
  readonly message: string;
}

/** What `capabilities` lacks to run a service with `needs`; empty when it can. */
export function missingCapabilities(
  capabilities: DataPlaneCapabilities,
  needs: ServiceNeeds,
): MissingCapability[] {
  const out: MissingCapability[] = [];
  const list = (set: ReadonlySet<string>) => [...set].join(', ');
  if (!capabilities.protocols.has(needs.protocol)) {
    out.push({
      field: 'protocol',
      message: `protocol ${needs.protocol.toUpperCase()} is not supported (it does ${list(capabilities.protocols).toUpperCase()})`,
    });
  }
  if (!capabilities.schedulers.has(needs.scheduler)) {
    out.push({
      field: 'scheduler',
      message: `scheduler ${needs.scheduler} ${capabilities.schedulerGap} (it does ${list(capabilities.schedulers)})`,
    });
  }
  if (needs.hashSourcePort === true && !capabilities.sourcePortHashing.has(needs.scheduler)) {
    out.push({
      field: 'scheduler',
      message: `scheduler ${needs.scheduler} cannot hash the source port (it can for ${list(capabilities.sourcePortHashing) || 'none'})`,
    });
  }
  for (const method of needs.forwarding) {
    if (!capabilities.forwarding.has(method)) {
      out.push({
        field: 'lbKind',
        message: `forwarding method ${method.toUpperCase()} is not supported`,
      });
    }
  }
  for (const type of needs.tunnelTypes ?? []) {
    if (!capabilities.tunnelTypes.has(type)) {
      out.push({
        field: 'tunnel',
        message: `tunnel type ${type.toUpperCase()} is not supported (it does ${list(capabilities.tunnelTypes).toUpperCase()})`,
      });
    }
  }
  for (const checksum of needs.tunnelChecksums ?? []) {
    if (!capabilities.tunnelChecksums.has(checksum)) {
      out.push({
        field: 'tunnel',
        message: `tunnel checksum option ${checksum} is not supported (it does ${list(capabilities.tunnelChecksums) || 'none'})`,
      });
    }
  }
  if (needs.fwmark && !capabilities.fwmark) {
    out.push({
      field: 'fwmark',
      message:
        'fwmark services match the marks netfilter sets, and it runs before netfilter sees the packet',
    });
  }
  if (needs.allPorts && needs.forwarding.has('nat') && !capabilities.natAllPorts) {
    out.push({
      field: 'port',
      message: 'NAT needs a service port (an all-ports service cannot be translated)',
    });
  }
  if (needs.connectionThresholds === true && !capabilities.connectionThresholds) {
    out.push({
      field: 'realServers',
      message:
        'connection thresholds (uthreshold, lthreshold) need live connection counts, which it does not keep',
    });
  }
  if (needs.realCount > capabilities.maxRealsPerService) {
    out.push({
      field: 'realServers',
      message: `${needs.realCount} real servers exceed its limit of ${capabilities.maxRealsPerService} per service`,
    });
  }
  return out;
}

/**
 * The capabilities as the Markdown table docs/data-plane.md shows; a test
 * keeps the page equal to this, so the docs derive from the declaration too.
 */
export function capabilitiesTable(capabilities: DataPlaneCapabilities): string {
  const list = (set: ReadonlySet<string>, upper = false) =>
    [...set].map((s) => (upper ? s.toUpperCase() : s)).join(', ') || 'none';
  const yesNo = (b: boolean) => (b ? 'yes' : 'no');
  return [
    `| ${capabilities.title} | |`,
    '| --- | --- |',
    `| schedulers | ${list(capabilities.schedulers)} |`,
    `| source-port hashing (sh-port, mh-port) | ${list(capabilities.sourcePortHashing)} |`,
    `| forwarding methods | ${list(capabilities.forwarding, true)} |`,
    `| TUN encapsulations (\`lvs_method TUN type ...\`) | ${list(capabilities.tunnelTypes, true)} |`,
    `| TUN checksum options | ${list(capabilities.tunnelChecksums)} |`,
    `| protocols | ${list(capabilities.protocols, true)} |`,
    `| fwmark services | ${yesNo(capabilities.fwmark)} |`,
    `| NAT on all-ports (port 0) services | ${yesNo(capabilities.natAllPorts)} |`,
    `| connection thresholds (uthreshold, lthreshold) | ${yesNo(capabilities.connectionThresholds)} |`,
    `| a sorry server on the director itself (e.g. 127.0.0.1) as a forwarding target | ${yesNo(capabilities.localReals)} |`,
    `| reals per service | ${
      Number.isFinite(capabilities.maxRealsPerService)
        ? `at most ${capabilities.maxRealsPerService}`
        : 'no limit of its own'
    } |`,
  ].join('\n');
}
