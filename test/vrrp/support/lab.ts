import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIn } from '../../../src/netns/exec.js';
import {
  createNamespace,
  createSwitch,
  deleteNamespace,
  plugIntoSwitch,
  uniqueName,
} from '../../../src/netns/netns.js';

/** The interface every lab host has on the shared segment. */
export const LAB_INTERFACE = 'eth0';

export interface LabHost {
  /** Role in the lab, e.g. "d1". */
  readonly role: string;
  readonly namespace: string;
  /** Address on the segment (without prefix). */
  readonly address: string;
  readonly mac: string;
}

/**
 * One L2 segment: a Linux bridge in its own "switch" namespace with a veth
 * to every host namespace (each host sees it as eth0). Multicast snooping
 * and STP are off so VRRP multicast and ARP reach every port at once.
 */
export class Lab {
  readonly hosts = new Map<string, LabHost>();
  readonly dir: string;
  private readonly switchNamespace: string;
  private readonly namespaces: string[] = [];

  private constructor(prefix: string) {
    this.switchNamespace = uniqueName(`${prefix}sw-`);
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}lab-`));
  }

  /** `hosts` maps role → address in 10.x.y.z/24; the segment is created before it resolves. */
  static async create(prefix: string, hosts: Record<string, string>): Promise<Lab> {
    const lab = new Lab(prefix);
    try {
      await createSwitch(lab.switchNamespace);
      lab.namespaces.push(lab.switchNamespace);
      let port = 0;
      for (const [role, address] of Object.entries(hosts)) {
        const namespace = uniqueName(`${prefix}${role}-`);
        await createNamespace(namespace);
        lab.namespaces.push(namespace);
        await plugIntoSwitch(lab.switchNamespace, `port${port++}`, namespace, LAB_INTERFACE);
        await runIn(namespace, 'ip', ['addr', 'add', `${address}/24`, 'dev', LAB_INTERFACE]);
        await runIn(namespace, 'ip', ['link', 'set', LAB_INTERFACE, 'up']);
        const mac = await linkMac(namespace);
        lab.hosts.set(role, { role, namespace, address, mac });
      }
      return lab;
    } catch (err) {
      await lab.close();
      throw err;
    }
  }

  host(role: string): LabHost {
    const host = this.hosts.get(role);
    if (host === undefined) throw new Error(`no lab host ${role}`);
    return host;
  }

  /** True when `address` is configured on the host's lab interface. */
  async hasAddress(role: string, address: string): Promise<boolean> {
    const { stdout } = await runIn(this.host(role).namespace, 'ip', [
      '-o',
      'addr',
      'show',
      'dev',
      LAB_INTERFACE,
    ]);
    return stdout.split('\n').some((line) => line.includes(` ${address}/`));
  }

  /** The MAC the host's neighbour table holds for `address`, if any. */
  async neighbourMac(role: string, address: string): Promise<string | undefined> {
    const { stdout } = await runIn(this.host(role).namespace, 'ip', [
      'neigh',
      'show',
      address,
      'dev',
      LAB_INTERFACE,
    ]);
    return /lladdr ([0-9a-f:]{17})/.exec(stdout)?.[1];
  }

  /** One ping from `role` to `address`: true when answered within a second. */
  async ping(role: string, address: string): Promise<boolean> {
    try {
      await runIn(this.host(role).namespace, 'ping', ['-c', '1', '-W', '1', '-n', '-q', address]);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    for (const namespace of this.namespaces.splice(0).reverse()) await deleteNamespace(namespace);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The lab interface's MAC, read through netlink (`/sys` under nsenter shows the host's links). */
async function linkMac(namespace: string): Promise<string> {
  const { stdout } = await runIn(namespace, 'ip', ['-o', 'link', 'show', 'dev', LAB_INTERFACE]);
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(stdout)?.[1];
  if (mac === undefined) throw new Error(`no MAC on ${LAB_INTERFACE} in ${namespace}`);
  return mac;
}
