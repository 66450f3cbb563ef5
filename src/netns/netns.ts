import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { run, runIn } from './exec.js';

/**
 * Network namespaces joined by veth pairs: the hosts of the lab and of the
 * namespace tests. Every name is created with a caller-chosen prefix so a
 * crashed run's leftovers can be found and removed.
 */

/** A short random name that fits the 15-character interface name limit. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export function namespaceExists(name: string): boolean {
  return existsSync(`/var/run/netns/${name}`);
}

export async function createNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await runIn(name, 'ip', ['link', 'set', 'lo', 'up']);
  // No duplicate address detection: addresses are usable at once, so hosts
  // built here need no waiting (and no address is ever duplicated in them).
  await runIn(name, 'sysctl', [
    '-q',
    '-w',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.default.accept_dad=0',
  ]);
}

/** Deletes a namespace (and with it its interfaces); absent is fine. */
export async function deleteNamespace(name: string): Promise<void> {
  if (!namespaceExists(name)) return;
  await run('ip', ['netns', 'delete', name]);
}

/** Names of existing namespaces starting with `prefix`. */
export async function listNamespaces(prefix: string): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
}

export interface VethEnd {
  namespace: string;
  name: string;
  /** Address with prefix length, e.g. 10.0.0.1/24 (optional). */
  address?: string;
  mac?: string;
}

/** Creates a veth pair between two namespaces, addresses it and brings it up. */
export async function createVethPair(a: VethEnd, b: VethEnd): Promise<void> {
  await run('ip', [
    'link',
    'add',
    a.name,
    'netns',
    a.namespace,
    'type',
    'veth',
    'peer',
    'name',
    b.name,
    'netns',
    b.namespace,
  ]);
  for (const end of [a, b]) {
    if (end.mac !== undefined) {
      await runIn(end.namespace, 'ip', ['link', 'set', end.name, 'address', end.mac]);
    }
    if (end.address !== undefined) {
      await runIn(end.namespace, 'ip', ['addr', 'add', end.address, 'dev', end.name]);
    }
    await runIn(end.namespace, 'ip', ['link', 'set', end.name, 'up']);
  }
}

/** The bridge every switch namespace holds. */
export const SWITCH_BRIDGE = 'br0';

/**
 * A namespace holding one bridge: the L2 segment hosts plug into. No STP
 * (ports forward at once) and no multicast snooping (VRRP multicast reaches
 * every port without IGMP).
 */
export async function createSwitch(namespace: string): Promise<void> {
  await createNamespace(namespace);
  await runIn(namespace, 'ip', [
    'link',
    'add',
    SWITCH_BRIDGE,
    'type',
    'bridge',
    'stp_state',
    '0',
    'mcast_snooping',
    '0',
  ]);
  await runIn(namespace, 'ip', ['link', 'set', SWITCH_BRIDGE, 'up']);
}

/** Plugs a host into a switch: `ifname` in the host, `port` on the switch's bridge (both up). */
export async function plugIntoSwitch(
  switchNamespace: string,
  port: string,
  hostNamespace: string,
  ifname = 'eth0',
): Promise<void> {
  await runIn(switchNamespace, 'ip', [
    'link',
    'add',
    port,
    'type',
    'veth',
    'peer',
    'name',
    ifname,
    'netns',
    hostNamespace,
  ]);
  await runIn(switchNamespace, 'ip', ['link', 'set', port, 'master', SWITCH_BRIDGE, 'up']);
}

/** The MAC address of an interface inside a namespace. */
export async function interfaceMac(namespace: string, ifname: string): Promise<string> {
  // Not /sys/class/net: nsenter --net keeps the root namespace's sysfs mount.
  const { stdout } = await runIn(namespace, 'ip', ['-j', 'link', 'show', 'dev', ifname]);
  const [link] = JSON.parse(stdout) as { address?: string }[];
  if (link?.address === undefined)
    throw new Error(`Cannot read the MAC address of ${ifname} in ${namespace}`);
  return link.address;
}

/**
 * veth hands partially computed TCP/UDP checksums to its peer (checksum
 * offload); a frame that XDP forwards to another interface has lost that
 * state and would be dropped as corrupt. Real NICs put complete checksums on
 * the wire, so hosts built on veth must compute them in software.
 */
export async function disableTxChecksumOffload(namespace: string, ifname: string): Promise<void> {
  await runIn(namespace, 'ethtool', ['-K', ifname, 'tx', 'off']);
}
