/**
 * Reads back what a previous run left in the pinned maps: the live services
 * (from the service table and each one's active ring settings) and their
 * active reals, as the specs that wrote them. The orchestrator adopts them,
 * so a restart rewrites only what changed.
 */
import { ipv6ToString } from '../../bpf/codec.js';
import { LbctlError } from '../../errors.js';
import type { AddressFamily } from '../../net/address.js';
import type { LinkDirectory, LinkInfo } from '../../netlink/host-network.js';
import * as abi from '../abi.js';
import type { Forwarding, RealSpec, ServiceSpec } from '../dataplane.js';
import { type ServiceTable, serviceSets } from '../service-table.js';
import { u32Key } from './entries.js';
import type { LbMaps } from './skeleton.js';

export interface PinnedReal {
  readonly id: number;
  readonly spec: RealSpec;
  /** The egress link it was written with (absent when that interface is gone). */
  readonly link: LinkInfo | undefined;
  /** The ifindex in the entry, for rebuilding lb_tx_ports. */
  readonly ifindex: number;
}

export interface PinnedService {
  readonly id: number;
  readonly slot: number;
  readonly spec: ServiceSpec;
  readonly reals: readonly PinnedReal[];
}

/** Reverse lookup in an ABI code table; an unknown code means the pins are not ours to read. */
function nameOf<T extends string>(
  table: Readonly<Record<T, number>>,
  code: number,
  what: string,
): T {
  const name = (Object.keys(table) as T[]).find((k) => table[k] === code);
  if (name === undefined) {
    throw new LbctlError(
      'DATAPLANE_PINNED_STATE_UNKNOWN',
      `Cannot adopt the pinned data plane: it holds ${what} code ${code}, which this lbctl ` +
        'does not know; remove the instance pin directory to start afresh',
    );
  }
  return name;
}

export function addressText(family: AddressFamily, addr: Buffer): string {
  if (family === 'ipv4') return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  return ipv6ToString(addr);
}

const familyName = (code: number): AddressFamily => nameOf(abi.FAMILY, code, 'address family');

export function decodePinnedState(
  maps: LbMaps,
  services: ServiceTable,
  links: LinkDirectory,
): PinnedService[] {
  // Services first: with none (a fresh pin directory) the reals array, one lookup per
  // slot, is not worth reading.
  const serviceEntries = services.entries();
  if (serviceEntries.length === 0) return [];
  const realsByService = new Map<number, PinnedReal[]>();
  for (const [k, v] of maps.reals.entries()) {
    const r = abi.real.decode(v);
    if ((r.flags & abi.REAL_F_ACTIVE) === 0) continue;
    const link = r.ifindex ? links.linkByIndex(r.ifindex) : undefined;
    const spec: RealSpec = {
      address: addressText(familyName(r.family), r.addr),
      port: r.port,
      weight: r.weight,
      forwarding: nameOf<Forwarding>(abi.FWD, r.fwd, 'forwarding method'),
      ...(link === undefined ? {} : { via: { interface: link.name, mac: r.mac } }),
    };
    const list = realsByService.get(r.service_id) ?? [];
    list.push({ id: k.readUInt32LE(0), spec, link, ifindex: r.ifindex });
    realsByService.set(r.service_id, list);
  }
  const out: PinnedService[] = [];
  for (const entry of serviceEntries) {
    const { key } = entry;
    if (!serviceSets(key, services.sets).includes(entry.set)) {
      // Another version's hash placed it: the program would not find it, nor this version's flows.
      throw new LbctlError(
        'DATAPLANE_PINNED_MISMATCH',
        `Cannot adopt the pinned data plane: service ${addressText(familyName(key.family), key.addr)}:` +
          `${key.port} sits in ${abi.MAPS.services} set ${entry.set}, where this lbctl's hash never ` +
          'puts it (an lbctl version with other table hashes pinned it); remove the instance pin ' +
          'directory to start afresh (TCP connections in progress through this director are then ' +
          'reset, as after a failover without connection sync)',
      );
    }
    const ring = maps.rings.lookup(u32Key(entry.id * abi.RING_SLOTS + entry.ringSlot));
    if (ring === undefined) continue;
    const params = abi.ringParams.decode(ring);
    const spec: ServiceSpec = {
      vip: addressText(familyName(key.family), key.addr),
      port: key.port,
      protocol: nameOf<abi.XdpProtocol>(abi.PROTO, key.proto, 'protocol'),
      scheduler: nameOf<abi.XdpScheduler>(abi.SCHED, params.sched, 'scheduler'),
      ...((params.flags & abi.SVC_F_PERSISTENT) !== 0
        ? {
            persistence: {
              timeoutS: params.persist_timeout_s,
              prefixLength: params.persist_prefix,
            },
          }
        : {}),
      ...((params.flags & abi.SVC_F_HASH_PORT) !== 0 ? { hashSourcePort: true } : {}),
    };
    out.push({
      id: entry.id,
      slot: entry.ringSlot,
      spec,
      reals: realsByService.get(entry.id) ?? [],
    });
  }
  return out;
}
