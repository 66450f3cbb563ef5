import type { RealSpec } from '../../../src/dataplane/dataplane.js';
import { runIn } from '../../../src/netns/exec.js';
import type { Lan } from './lan.js';

export const DR_MAC = {
  client: '02:00:00:99:00:01',
  director: '02:00:00:99:00:02',
  a: '02:00:00:99:00:11',
  b: '02:00:00:99:00:12',
};
export const DR_VIP = '10.99.0.100';

/** The two reals of the DR LAN on `port` (each real's server listens there). */
export function drReals(port: number): RealSpec[] {
  return [
    {
      address: '10.99.0.11',
      port,
      weight: 1,
      forwarding: 'dr',
      via: { interface: 'eth0', mac: DR_MAC.a },
    },
    {
      address: '10.99.0.12',
      port,
      weight: 1,
      forwarding: 'dr',
      via: { interface: 'eth0', mac: DR_MAC.b },
    },
  ];
}

/**
 * DR as in the LVS tutorial: one LAN; client c (10.99.0.1), director d
 * (10.99.0.2, holds the VIP) rewriting MACs in XDP, reals a and b
 * (10.99.0.11/12) holding the VIP on lo with ARP suppressed, answering the
 * client directly. Each real runs an HTTP server on 80 answering real-<role>.
 */
export async function buildDrLan(lan: Lan): Promise<void> {
  await lan.create();
  await lan.addHost({ role: 'c', mac: DR_MAC.client, addresses: ['10.99.0.1/24'] });
  await lan.addHost({
    role: 'd',
    mac: DR_MAC.director,
    addresses: ['10.99.0.2/24', `${DR_VIP}/32`],
  });
  for (const [role, addr, mac] of [
    ['a', '10.99.0.11/24', DR_MAC.a],
    ['b', '10.99.0.12/24', DR_MAC.b],
  ] as const) {
    await lan.addHost({ role, mac, addresses: [addr] });
    await lan.sysctl(role, [
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
      'net.ipv4.conf.lo.arp_ignore=1',
      'net.ipv4.conf.lo.arp_announce=2',
    ]);
    await lan.httpServer(role, `real-${role}`, 80);
  }
  // The VIP goes on the reals' lo after ARP suppression, as the tutorial orders it.
  for (const role of ['a', 'b'])
    await runIn(lan.ns(role), 'ip', ['addr', 'add', `${DR_VIP}/32`, 'dev', 'lo']);
  await lan.passXdpOnSwitchPort('d');
}
