/**
 * Map keys and values as the lb program reads them, built from the control
 * plane's specs (and counters summed back from per-CPU values).
 */
import type { LinkInfo } from '../../netlink/host-network.js';
import * as abi from '../abi.js';
import type { RealSpec, ServiceKey, Timeouts, TrafficCounters } from '../dataplane.js';

const DEFAULT_MTU = 1500;
const NS_PER_S = 1_000_000_000;
const NO_MAC = '00:00:00:00:00:00';

/** A u32 key or value in host order, as the program's array maps take them. */
export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export function encodeServiceKey(spec: ServiceKey) {
  const family = abi.familyOf(spec.vip, `VIP ${spec.vip}`);
  return {
    addr: abi.addrBytes(family, spec.vip),
    port: spec.port,
    proto: abi.PROTO[spec.protocol as abi.XdpProtocol],
    family: abi.FAMILY[family],
  };
}

/**
 * An active lb_real (where to send, through which link, for which service),
 * written at `offset` of `into`: one entry of a batch write.
 */
export function encodeRealInto(
  spec: RealSpec,
  link: LinkInfo | undefined,
  serviceId: number,
  into: Buffer,
  offset: number,
): void {
  const family = abi.familyOf(spec.address, `real ${spec.address}`);
  abi.real.encodeInto(
    {
      addr: abi.addrBytes(family, spec.address),
      port: spec.port,
      family: abi.FAMILY[family],
      fwd: abi.FWD[spec.forwarding],
      mac: spec.via?.mac ?? NO_MAC,
      src_mac: link?.mac ?? NO_MAC,
      ifindex: link?.index ?? 0,
      service_id: serviceId,
      weight: spec.weight,
      flags: abi.REAL_F_ACTIVE,
    },
    into,
    offset,
  );
}

export interface TunnelOptions {
  /** Outer source address of IPv4 tunnels (required before adding an IPv4 TUN real). */
  readonly sourceV4?: string;
  /** Outer source address of IPv6 tunnels. */
  readonly sourceV6?: string;
  /** Largest outer packet a tunnel may send (default 1500). */
  readonly mtu?: number;
}

/**
 * The one lb_config entry: timeouts, tunnel source, whether NAT replies need
 * handling, the flow-hash key (src/dataplane/flow-hash-key.ts).
 */
export function encodeConfig(
  timeouts: Timeouts,
  tunnel: TunnelOptions,
  natEnabled: boolean,
  flowHashKey: Buffer,
): Buffer {
  return abi.config.encode({
    tcp_timeout_ns: BigInt(Math.round(timeouts.tcpS * NS_PER_S)),
    tcp_fin_timeout_ns: BigInt(Math.round(timeouts.tcpFinS * NS_PER_S)),
    udp_timeout_ns: BigInt(Math.round(timeouts.udpS * NS_PER_S)),
    tun_src6:
      tunnel.sourceV6 === undefined
        ? Buffer.alloc(16)
        : abi.addrBytes('ipv6', tunnel.sourceV6, 'tunnel source'),
    tun_src4:
      tunnel.sourceV4 === undefined
        ? Buffer.alloc(4)
        : abi.addrBytes('ipv4', tunnel.sourceV4, 'tunnel source').subarray(0, 4),
    tun_mtu: tunnel.mtu ?? DEFAULT_MTU,
    nat_enabled: natEnabled ? 1 : 0,
    flow_hash_key: flowHashKey,
  });
}

/** The per-CPU lb_counters of one entry, summed. */
export function sumCounters(values: readonly Buffer[] | undefined): TrafficCounters {
  let packets = 0n;
  let bytes = 0n;
  let newConns = 0n;
  for (const v of values ?? []) {
    const c = abi.counters.decode(v);
    packets += c.packets;
    bytes += c.bytes;
    newConns += c.new_conns;
  }
  return { packets: Number(packets), bytes: Number(bytes), newConnections: Number(newConns) };
}
