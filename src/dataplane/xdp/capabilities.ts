import * as abi from '../abi.js';
import type { DataPlaneCapabilities } from '../capabilities.js';
import type { Forwarding, Protocol, Scheduler, TunnelChecksum, TunnelType } from '../dataplane.js';

const keys = <T extends string>(table: Readonly<Partial<Record<T, number>>>) =>
  new Set(Object.keys(table) as T[]);

/**
 * What the XDP program does, read from its ABI (bpf/include/lb_abi.h as
 * mirrored in abi.ts): a scheduler, method or protocol exists when the
 * program has a code for it, so adding one there adds it here.
 */
export const XDP_CAPABILITIES: DataPlaneCapabilities = Object.freeze({
  kind: 'xdp',
  title: 'the XDP data plane',
  schedulers: keys<Scheduler>(abi.SCHED),
  // LB_SVC_F_HASH_PORT: the program hashes the source port into any flow hash; keepalived
  // offers the flag for these two (sh-port, mh-port).
  sourcePortHashing: new Set<Scheduler>(['sh', 'mh']),
  forwarding: keys<Forwarding>(abi.FWD),
  // The program encapsulates TUN in IPIP (IPv6: ip6ip6) without checksum: no GUE/GRE header.
  tunnelTypes: new Set<TunnelType>(['ipip']),
  tunnelChecksums: new Set<TunnelChecksum>(),
  protocols: keys<Protocol>(abi.PROTO),
  fwmark: false,
  natAllPorts: false,
  connectionThresholds: false,
  // XDP cannot hand a packet to its own stack under another address: the service is left out.
  localReals: false,
  // It writes the real's MAC and sends out of its interface.
  nextHops: true,
  maxRealsPerService: abi.MAX_REALS_PER_SERVICE,
  schedulerGap: 'needs live connection counts or locality, which only kernel IPVS keeps',
});
