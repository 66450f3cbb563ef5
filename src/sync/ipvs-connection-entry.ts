/**
 * A row of kernel IPVS's connection table (/proc/net/ip_vs_conn, as
 * ipvsadm -Lnc lists it) as the sync entry the kernel's master daemon would
 * send for it (ip_vs_sync_conn). The row lacks the connection's flags and
 * firewall mark, so they come from the service lbctl applied: the forwarding
 * method of the row's real, the mark of the service that holds it. The rest
 * is the kernel's rule: a connection is INACTIVE outside ESTABLISHED (UDP
 * always), and the timeout sent is what the row has left, so the backup's
 * copy expires when the master's would.
 *
 * The row is mapped from its fields as read (addresses as 32-bit words,
 * ports as numbers) and written in wire form, with no endpoint text: the
 * services are looked up by number (IPv4) or by the address's words (IPv6).
 */

import type { Forwarding, Protocol, RealSpec, ServiceSpec } from '../dataplane/dataplane.js';
import {
  CLIENT,
  DESTINATION,
  type IpvsConnectionFields,
  VIRTUAL,
} from '../dataplane/ipvs/ipvs-connection-fields.js';
import { addressToBytes } from '../net/address.js';
import { FORWARDING_FLAG, PROTOCOL_NUMBER } from './flow-mapping.js';
import {
  CONN_F,
  SCTP_STATE_ESTABLISHED,
  TCP_STATE,
  writeSyncEntryFields,
} from './ipvs-sync-codec.js';
import type { SyncEntryQueue } from './sync-entry-queue.js';

/** Why a row is not sent. */
export type IpvsEntrySkip = 'template' | 'state' | 'noService' | 'noReal' | 'malformed';

/** IPVS's state names per protocol (the tables ip_vs_state_name prints). */
const STATES: Readonly<Record<Protocol, ReadonlyMap<string, number>>> = {
  tcp: new Map(Object.entries(TCP_STATE)),
  udp: new Map([['UDP', 0]]),
  // SCTP's other states have no name lbctl checks against the kernel: not sent.
  sctp: new Map([['ESTABLISHED', SCTP_STATE_ESTABLISHED]]),
};

const PROTOCOL_INDEX: Readonly<Record<Protocol, number>> = { tcp: 0, udp: 1, sctp: 2 };

/** An address as 4 or 16 bytes, as the words a row's fields hold. */
interface AddressWords {
  readonly family: 4 | 6;
  readonly words: readonly number[];
}

function addressWords(address: string): AddressWords {
  const bytes = addressToBytes(address);
  const words = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readUInt32BE(i * 4));
  return { family: bytes.length === 4 ? 4 : 6, words };
}

/** A real as a row is matched against it. */
interface IndexedReal extends AddressWords {
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
      ...addressWords(r.address),
      port: r.port,
      forwarding: r.forwarding,
    })),
    sharedForwarding: methods.size === 1 ? [...methods][0] : undefined,
  };
}

/**
 * A key for an address with a number beside it (a service's protocol and
 * port): a number for IPv4 (below 2^53), a string of the words for IPv6.
 */
function key(family: number, words: ArrayLike<number>, at: number, tag: number): number | string {
  if (family === 4) return tag * 2 ** 32 + (words[at] as number);
  return `${tag}|${words[at]}|${words[at + 1]}|${words[at + 2]}|${words[at + 3]}`;
}

const serviceTag = (protocol: Protocol, port: number) => PROTOCOL_INDEX[protocol] * 65536 + port;

/** lbctl's applied IPVS services, looked up by what a connection row shows. */
export class IpvsServiceIndex {
  /** Address services by (protocol, VIP, port): one map per family. */
  private readonly byAddress = [new Map<number | string, IndexedService>(), new Map()] as const;
  /** Mark services by the address of a real they hold, one map per family. */
  private readonly markedByReal = [
    new Map<number | string, IndexedService[]>(),
    new Map(),
  ] as const;

  constructor(services: readonly { service: ServiceSpec; reals: readonly RealSpec[] }[]) {
    for (const { service, reals } of services) {
      if (service.fwmark !== undefined) {
        const indexed = indexService(service.fwmark, reals);
        const holding = new Set<number | string>();
        for (const real of indexed.reals) {
          const map = this.markedByReal[real.family === 4 ? 0 : 1];
          const k = key(real.family, real.words, 0, 0);
          // A service holding one address at two ports is one candidate.
          if (holding.has(`${real.family}|${k}`)) continue;
          holding.add(`${real.family}|${k}`);
          map.set(k, [...(map.get(k) ?? []), indexed]);
        }
      } else {
        const vip = addressWords(service.vip);
        this.byAddress[vip.family === 4 ? 0 : 1].set(
          key(vip.family, vip.words, 0, serviceTag(service.protocol, service.port)),
          indexService(0, reals),
        );
      }
    }
  }

  /**
   * The service a row belongs to: (protocol, VIP, port), then the VIP's
   * port-0 service, then the one mark service holding its real (IPVS
   * matches a marked packet before its address; the row does not say which).
   */
  find(row: IpvsConnectionFields): IndexedService | undefined {
    const family = row.family[VIRTUAL] as number;
    const byAddress = this.byAddress[family === 4 ? 0 : 1];
    const at = VIRTUAL * 4;
    const exact =
      byAddress.get(
        key(family, row.words, at, serviceTag(row.protocol, row.port[VIRTUAL] as number)),
      ) ?? byAddress.get(key(family, row.words, at, serviceTag(row.protocol, 0)));
    if (exact !== undefined) return exact;
    // A mark service's real of the VIP's family.
    if (row.family[DESTINATION] !== family) return undefined;
    const marked = this.markedByReal[family === 4 ? 0 : 1].get(
      key(family, row.words, DESTINATION * 4, 0),
    );
    return marked?.length === 1 ? marked[0] : undefined;
  }
}

/** Whether `real` is the row's real (same address, its port or any port). */
function isRowReal(real: IndexedReal, row: IpvsConnectionFields): boolean {
  if (real.family !== row.family[DESTINATION]) return false;
  if (real.port !== row.port[DESTINATION] && real.port !== 0) return false;
  const at = DESTINATION * 4;
  for (let i = 0; i < real.words.length; i++) {
    if (real.words[i] !== row.words[at + i]) return false;
  }
  return true;
}

/**
 * The forwarding method of the row's real: the real itself (a real at port
 * 0 takes any port, as IPVS gives it the packet's), else the one method all
 * the service's reals share (a real removed since, whose connections IPVS
 * keeps).
 */
function forwardingOf(service: IndexedService, row: IpvsConnectionFields): Forwarding | undefined {
  for (const real of service.reals) if (isRowReal(real, row)) return real.forwarding;
  return service.sharedForwarding;
}

/** What a row's entry takes beyond the row's own fields; one record is reused for every row. */
export class IpvsRowEntry {
  flags = 0;
  state = 0;
  fwmark = 0;
}

/**
 * Maps one row into `entry`, or says why it is not sent. A row whose three
 * addresses are not of one family is 'malformed': an entry has one family
 * for all three (and the kernel does not sync mixed-family connections).
 */
export function mapIpvsRow(
  row: IpvsConnectionFields,
  services: IpvsServiceIndex,
  entry: IpvsRowEntry,
): IpvsEntrySkip | undefined {
  // A persistence template has no client port (ASSURED is a template's state only).
  if (row.port[CLIENT] === 0 || row.state === 'ASSURED') return 'template';
  const state = STATES[row.protocol].get(row.state);
  if (state === undefined) return 'state';
  const service = services.find(row);
  if (service === undefined) return 'noService';
  const forwarding = forwardingOf(service, row);
  if (forwarding === undefined) return 'noReal';
  const family = row.family[VIRTUAL];
  if (row.family[CLIENT] !== family || row.family[DESTINATION] !== family) return 'malformed';
  const established =
    (row.protocol === 'tcp' && state === TCP_STATE.ESTABLISHED) ||
    (row.protocol === 'sctp' && state === SCTP_STATE_ESTABLISHED);
  entry.flags = FORWARDING_FLAG[forwarding] | (established ? 0 : CONN_F.INACTIVE);
  entry.state = state;
  entry.fwmark = service.fwmark;
  return undefined;
}

/** Appends the entry mapIpvsRow made of `row` to `queue`, in wire form. */
export function queueIpvsRowEntry(
  queue: SyncEntryQueue,
  row: IpvsConnectionFields,
  entry: IpvsRowEntry,
): void {
  const ipv6 = row.family[VIRTUAL] === 6;
  const at = queue.append(ipv6);
  const out = queue.view;
  writeSyncEntryFields(
    out,
    at,
    ipv6,
    PROTOCOL_NUMBER[row.protocol],
    entry.flags,
    entry.state,
    row.port[CLIENT] as number,
    row.port[VIRTUAL] as number,
    row.port[DESTINATION] as number,
    entry.fwmark,
    // 0 would mean "the receiver's timeout for the state": a row about to expire sends 1.
    Math.max(1, row.expiresS),
  );
  // Client, virtual, destination: the order the entry holds them in.
  const words = ipv6 ? 4 : 1;
  for (let n = 0; n < 3; n++) {
    for (let i = 0; i < words; i++) {
      out.setUint32(at + 24 + (n * words + i) * 4, row.words[n * 4 + i] as number);
    }
  }
}
