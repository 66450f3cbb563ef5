/**
 * The IPVS hand-off's mapping as it was before it read a row's hex fields
 * straight: /proc/net/ip_vs_conn's line to ipvsadm -Lnc's endpoint text, and
 * that text parsed back into a sync entry. Kept as the reference the direct
 * mapping (src/sync/ipvs-connection-entry.ts) is compared with, row for row.
 */
import type { Forwarding, Protocol, RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import type { IpvsConnection } from '../../src/dataplane/ipvs/ipvs-connections.js';
import { canonicalAddress, ipFamily } from '../../src/net/address.js';
import { parseEndpoint } from '../../src/net/endpoint.js';
import { FORWARDING_FLAG, PROTOCOL_NUMBER } from '../../src/sync/flow-mapping.js';
import type { IpvsEntrySkip } from '../../src/sync/ipvs-connection-entry.js';
import {
  CONN_F,
  SCTP_STATE_ESTABLISHED,
  type SyncConnection,
  TCP_STATE,
} from '../../src/sync/ipvs-sync-codec.js';

const PROTOCOLS: Readonly<Record<string, Protocol>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
function endpoint(address: string, portHex: string): string | undefined {
  const port = Number.parseInt(portHex, 16);
  if (!/^[0-9A-Fa-f]{4}$/.test(portHex)) return undefined;
  if (/^[0-9A-Fa-f]{8}$/.test(address)) {
    const n = Number.parseInt(address, 16);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:${port}`;
  }
  if (!/^[0-9A-Fa-f:]+$/.test(address) || !address.includes(':')) return undefined;
  try {
    return `[${canonicalAddress(address)}]:${port}`;
  } catch {
    return undefined;
  }
}
export function parseIpvsConnectionLineAsText(line: string): IpvsConnection | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 9) return undefined;
  const protocol = PROTOCOLS[f[0]!];
  if (protocol === undefined) return undefined;
  const source = endpoint(f[1]!, f[2]!);
  const virtual = endpoint(f[3]!, f[4]!);
  const destination = endpoint(f[5]!, f[6]!);
  const expiresS = Number(f[8]);
  if (source === undefined || virtual === undefined || destination === undefined) return undefined;
  if (!Number.isInteger(expiresS) || expiresS < 0) return undefined;
  return { protocol, expiresS, state: f[7]!, source, virtual, destination };
}
const STATES: Readonly<Record<Protocol, Readonly<Record<string, number>>>> = {
  tcp: TCP_STATE,
  udp: { UDP: 0 },
  // SCTP's other states have no name lbctl checks against the kernel: not sent.
  sctp: { ESTABLISHED: SCTP_STATE_ESTABLISHED },
};

/** A real as a row is matched against it: its address canonical once, not per row. */
interface IndexedReal {
  readonly address: string;
  readonly family: 4 | 6 | undefined;
  readonly port: number;
  readonly forwarding: Forwarding;
}

interface IndexedService {
  readonly fwmark: number;
  readonly reals: readonly IndexedReal[];
  /** The one method all its reals share, for a real removed since; undefined when they differ. */
  readonly sharedForwarding: Forwarding | undefined;
}

function indexService(fwmark: number, reals: readonly RealSpec[]): IndexedService {
  const methods = new Set(reals.map((r) => r.forwarding));
  return {
    fwmark,
    reals: reals.map((r) => ({
      address: canonicalAddress(r.address),
      family: ipFamily(r.address),
      port: r.port,
      forwarding: r.forwarding,
    })),
    sharedForwarding: methods.size === 1 ? [...methods][0] : undefined,
  };
}

/** lbctl's applied IPVS services, looked up by what a connection row shows. */
export class IpvsTextServiceIndex {
  private readonly byAddress = new Map<string, IndexedService>();
  private readonly fwmarkServices: IndexedService[] = [];

  constructor(services: readonly { service: ServiceSpec; reals: readonly RealSpec[] }[]) {
    for (const { service, reals } of services) {
      if (service.fwmark !== undefined) {
        this.fwmarkServices.push(indexService(service.fwmark, reals));
      } else {
        this.byAddress.set(
          addressKey(service.protocol, service.vip, service.port),
          indexService(0, reals),
        );
      }
    }
  }

  /**
   * The service a connection belongs to: (protocol, VIP, port), then the
   * VIP's port-0 service, then the one mark service holding its real (IPVS
   * matches a marked packet before its address; the row does not say which).
   * `real` is canonical.
   */
  find(protocol: Protocol, vip: string, port: number, real: string): IndexedService | undefined {
    const exact =
      this.byAddress.get(addressKey(protocol, vip, port)) ??
      this.byAddress.get(addressKey(protocol, vip, 0));
    if (exact !== undefined) return exact;
    const family = ipFamily(vip);
    const marked = this.fwmarkServices.filter((s) =>
      s.reals.some((r) => r.family === family && r.address === real),
    );
    return marked.length === 1 ? marked[0] : undefined;
  }
}

const addressKey = (protocol: Protocol, vip: string, port: number) =>
  `${protocol}|${canonicalAddress(vip)}|${port}`;

/**
 * The forwarding method of the connection's real (`address` canonical): the
 * real itself (a real at port 0 takes any port, as IPVS gives it the
 * packet's), else the one method all the service's reals share (a real
 * removed since, whose connections IPVS keeps).
 */
function forwardingOf(
  service: IndexedService,
  address: string,
  port: number,
): Forwarding | undefined {
  const real = service.reals.find(
    (r) => r.address === address && (r.port === port || r.port === 0),
  );
  return real !== undefined ? real.forwarding : service.sharedForwarding;
}

type IpvsEntryResult = { readonly entry: SyncConnection } | { readonly skip: IpvsEntrySkip };

/** One row as a sync entry, or why it is not sent. */
export function ipvsTextRowToSyncEntry(
  row: IpvsConnection,
  services: IpvsTextServiceIndex,
): IpvsEntryResult {
  const client = parseEndpoint(row.source);
  const virtual = parseEndpoint(row.virtual);
  const destination = parseEndpoint(row.destination);
  if (client === undefined || virtual === undefined || destination === undefined) {
    return { skip: 'malformed' };
  }
  // A persistence template has no client port (ASSURED is a template's state only).
  if (client.port === 0 || row.state === 'ASSURED') return { skip: 'template' };
  const state = STATES[row.protocol][row.state];
  if (state === undefined) return { skip: 'state' };
  const real = canonicalAddress(destination.address);
  const service = services.find(row.protocol, virtual.address, virtual.port, real);
  if (service === undefined) return { skip: 'noService' };
  const forwarding = forwardingOf(service, real, destination.port);
  if (forwarding === undefined) return { skip: 'noReal' };
  const established =
    (row.protocol === 'tcp' && state === TCP_STATE.ESTABLISHED) ||
    (row.protocol === 'sctp' && state === SCTP_STATE_ESTABLISHED);
  return {
    entry: {
      family: ipFamily(virtual.address) === 6 ? 'ipv6' : 'ipv4',
      protocol: PROTOCOL_NUMBER[row.protocol],
      flags: FORWARDING_FLAG[forwarding] | (established ? 0 : CONN_F.INACTIVE),
      state,
      clientAddress: client.address,
      clientPort: client.port,
      virtualAddress: virtual.address,
      virtualPort: virtual.port,
      destinationAddress: destination.address,
      destinationPort: destination.port,
      fwmark: service.fwmark,
      // 0 would mean "the receiver's timeout for the state": a row about to expire sends 1.
      timeoutS: Math.max(1, row.expiresS),
    },
  };
}
