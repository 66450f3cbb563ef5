import type { DataPlaneCapabilities } from '../capabilities.js';
import {
  type Forwarding,
  type Protocol,
  SCHEDULERS,
  type Scheduler,
  TUNNEL_CHECKSUMS,
  TUNNEL_TYPES,
} from '../dataplane.js';

/**
 * What kernel IPVS does through lbctl: every LVS scheduler (each is a module,
 * ip_vs_<name>, the kernel loads when a service first names it), DR/NAT/TUN,
 * TUN over IPIP, GUE or GRE with their checksum options, TCP/UDP/SCTP,
 * firewall-mark services, and no limit of its own on reals per service.
 */
export const IPVS_CAPABILITIES: DataPlaneCapabilities = Object.freeze({
  kind: 'ipvs',
  title: 'the kernel IPVS data plane',
  schedulers: new Set<Scheduler>(SCHEDULERS),
  // IP_VS_SVC_F_SCHED2 means sh-port for sh and mh-port for mh; other schedulers ignore it.
  sourcePortHashing: new Set<Scheduler>(['sh', 'mh']),
  forwarding: new Set<Forwarding>(['dr', 'nat', 'tun']),
  // IPVS_DEST_ATTR_TUN_TYPE/PORT/FLAGS: GUE since Linux 5.2, GRE and checksums since 5.3
  // (older than the 6.1 lbctl needs). The kernel refuses remcsum on GRE, as keepalived does.
  tunnelTypes: new Set(TUNNEL_TYPES),
  tunnelChecksums: new Set(TUNNEL_CHECKSUMS.filter((c) => c !== 'nocsum')),
  protocols: new Set<Protocol>(['tcp', 'udp', 'sctp']),
  // IPVS hooks netfilter after the mangle table, so it sees the marks iptables/nft set.
  fwmark: true,
  natAllPorts: true,
  connectionThresholds: true,
  // The kernel turns a DR real on a local address into IP_VS_CONN_F_LOCALNODE ("Local").
  localReals: true,
  // The kernel routes to the real itself.
  nextHops: false,
  maxRealsPerService: Number.POSITIVE_INFINITY,
  schedulerGap: 'is not an LVS scheduler',
});
