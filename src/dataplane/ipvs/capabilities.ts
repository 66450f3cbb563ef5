import type { DataPlaneCapabilities } from '../capabilities.js';
import { type Forwarding, type Protocol, SCHEDULERS, type Scheduler } from '../dataplane.js';

/**
 * What kernel IPVS does through lbctl: every LVS scheduler (each is a module,
 * ip_vs_<name>, the kernel loads when a service first names it), DR/NAT/TUN,
 * TCP/UDP/SCTP, firewall-mark services, and no limit of its own on reals per service.
 */
export const IPVS_CAPABILITIES: DataPlaneCapabilities = Object.freeze({
  kind: 'ipvs',
  title: 'the kernel IPVS data plane',
  schedulers: new Set<Scheduler>(SCHEDULERS),
  // IP_VS_SVC_F_SCHED2 means sh-port for sh and mh-port for mh; other schedulers ignore it.
  sourcePortHashing: new Set<Scheduler>(['sh', 'mh']),
  forwarding: new Set<Forwarding>(['dr', 'nat', 'tun']),
  protocols: new Set<Protocol>(['tcp', 'udp', 'sctp']),
  // IPVS hooks netfilter after the mangle table, so it sees the marks iptables/nft set.
  fwmark: true,
  natAllPorts: true,
  connectionThresholds: true,
  maxRealsPerService: Number.POSITIVE_INFINITY,
  schedulerGap: 'is not an LVS scheduler',
});
