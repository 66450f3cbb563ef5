import { MemoryHostNetwork } from '../../../src/netlink/testing/memory-host-network.js';

/**
 * A director in memory: eth0 (10.0.0.1/24) toward clients and DR/TUN reals
 * 10.0.0.11 and .12, eth1 (192.168.1.1/24) toward NAT real 192.168.1.21;
 * every real answers ARP.
 */
export function directorHost(): MemoryHostNetwork {
  const h = new MemoryHostNetwork();
  h.addLink('lo', '00:00:00:00:00:00');
  h.addLink('eth0', '02:00:00:00:00:01');
  h.addLink('eth1', '02:00:00:00:00:02');
  h.addAddress('eth0', '10.0.0.1/24');
  h.addAddress('eth1', '192.168.1.1/24');
  for (const n of [11, 12]) h.answering.set(`10.0.0.${n}`, `02:00:00:00:00:${n}`);
  h.answering.set('192.168.1.21', '02:00:00:00:01:21');
  return h;
}
