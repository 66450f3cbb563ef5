import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LbctlError } from '../errors.js';
import { runIn } from '../netns/exec.js';
import { createNamespace, createVethPair, plugIntoSwitch } from '../netns/netns.js';
import { directorBirdConfig, LAB_BGP_TABLE, routerBirdConfig } from './ecmp-bird.js';
import { TX_CHECKSUM_OFF } from './host-programs.js';
import type { LabAddresses, LabOptions, labHosts } from './lab-spec.js';
import { type LabProcesses, sleep } from './processes.js';

export interface EcmpFabricParts {
  readonly options: LabOptions;
  readonly addresses: LabAddresses;
  readonly hosts: ReturnType<typeof labHosts>;
  readonly stateDir: string;
  readonly processes: LabProcesses;
  readonly namespace: (host: string) => string;
  readonly switchNamespace: string;
}

/**
 * The ECMP lab's network around the directors: an upstream router namespace
 * on the site segment running BIRD (a BGP session per director, the VIP
 * installed as one multipath route, L4 multipath hashing), the client behind
 * it on its own segment, and per director a BIRD that announces what lbctl
 * puts in its announcement table. Directors and reals route through the
 * router (reals answer clients directly: DR).
 */
export class EcmpFabric {
  constructor(private readonly parts: EcmpFabricParts) {}

  private get router(): { site: string; clients: string } {
    const router = this.parts.addresses.router;
    if (router === undefined) throw new Error('the ECMP lab has a router address');
    return router;
  }

  private get routerNamespace(): string {
    return this.parts.namespace('router');
  }

  /** The router: eth0 on the site bridge, forwarding with L4 multipath hashing, BIRD. */
  async addRouter(): Promise<void> {
    const ns = this.routerNamespace;
    await createNamespace(ns);
    // The switch side is named after the host, as the lab names every port.
    await plugIntoSwitch(this.parts.switchNamespace, 'router', ns);
    await runIn(ns, 'ip', ['addr', 'add', `${this.router.site}/24`, 'dev', 'eth0']);
    await runIn(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await runIn(ns, 'python3', ['-c', TX_CHECKSUM_OFF, 'eth0']);
    await runIn(ns, 'sysctl', [
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      // Hash on the 5-tuple, so one client's connections spread over the directors.
      'net.ipv4.fib_multipath_hash_policy=1',
    ]);
  }

  /** The client on its own segment behind the router. */
  async addClient(): Promise<void> {
    const client = this.parts.namespace(this.parts.hosts.client);
    await createNamespace(client);
    await createVethPair(
      { namespace: this.routerNamespace, name: 'eth1', address: `${this.router.clients}/24` },
      { namespace: client, name: 'eth0', address: `${this.parts.addresses.client}/24` },
    );
    await runIn(client, 'ip', ['route', 'add', 'default', 'via', this.router.clients]);
    await runIn(client, 'python3', ['-c', TX_CHECKSUM_OFF, 'eth0']);
    await runIn(this.routerNamespace, 'python3', ['-c', TX_CHECKSUM_OFF, 'eth1']);
  }

  /**
   * Reals and directors reach the client through the router, and the router's BIRD starts.
   * Directors do not hold the VIP: lbctl attaches XDP where the route to it leaves (eth0).
   */
  async prepareHosts(): Promise<void> {
    const { hosts, addresses } = this.parts;
    for (const host of [...hosts.reals, ...hosts.directors]) {
      await runIn(this.parts.namespace(host), 'ip', [
        'route',
        'add',
        'default',
        'via',
        this.router.site,
      ]);
    }
    await this.startBird(
      'router',
      this.routerNamespace,
      routerBirdConfig(this.router.site, addresses.directors),
    );
  }

  /** A director's BIRD, announcing what its lbctl puts in the announcement table. */
  async startDirectorBird(director: string): Promise<void> {
    const index = this.parts.hosts.directors.indexOf(director);
    const address = this.parts.addresses.directors[index];
    if (address === undefined) throw new Error(`${director} is not a director of the lab`);
    await this.startBird(
      director,
      this.parts.namespace(director),
      directorBirdConfig(address, this.router.site),
    );
  }

  birdSocket(host: string): string {
    return join(this.parts.stateDir, `${host}.bird.ctl`);
  }

  /**
   * The directors the router's RIB has a BGP path to the VIP through (birdc show route),
   * by their addresses.
   */
  async paths(): Promise<string[]> {
    const { stdout } = await runIn(
      this.routerNamespace,
      'birdc',
      ['-s', this.birdSocket('router'), 'show', 'route', 'for', this.parts.addresses.vip],
      { timeoutMs: 5000 },
    ).catch(() => ({ stdout: '' }));
    return [...stdout.matchAll(/\bvia (\S+) on /g)].map((m) => m[1]!).sort();
  }

  /** Waits until the router's RIB has `count` paths to the VIP. */
  async awaitPaths(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = await this.paths();
      if (seen.length === count) return;
      await sleep(100);
    }
    throw new LbctlError(
      'LAB_UP_FAILED',
      `Cannot build the ECMP lab: the router has ${seen.length} paths to ${this.parts.addresses.vip} (${seen.join(', ') || 'none'}), expected ${count}`,
    );
  }

  /**
   * The director the router's FIB sends each TCP flow from the client to the VIP's port to,
   * by the flow's source port (ip route get with the L4 fields: the multipath hash itself).
   */
  async directorsOf(sourcePorts: readonly number[], port: number): Promise<Map<number, string>> {
    const { vip, client } = this.parts.addresses;
    const input = sourcePorts
      .map(
        (sport) =>
          `route get ${vip} from ${client} iif eth1 ipproto tcp sport ${sport} dport ${port}\n`,
      )
      .join('');
    const { stdout } = await runIn(this.routerNamespace, 'ip', ['-o', '-batch', '-'], {
      input,
      timeoutMs: 10_000,
    });
    const via = [...stdout.matchAll(/^\S+ from \S+ via (\S+) /gm)].map((m) => m[1]!);
    if (via.length !== sourcePorts.length) {
      throw new LbctlError(
        'LAB_UP_FAILED',
        `Cannot read the router's choice of director: ${via.length} answers for ${sourcePorts.length} flows`,
      );
    }
    const byAddress = new Map(
      this.parts.addresses.directors.map((a, i) => [a, this.parts.hosts.directors[i]!]),
    );
    return new Map(sourcePorts.map((sport, i) => [sport, byAddress.get(via[i]!) ?? via[i]!]));
  }

  /** True when the director's lbctl has the VIP in its announcement table. */
  async announces(director: string): Promise<boolean> {
    const { stdout } = await runIn(this.parts.namespace(director), 'ip', [
      'route',
      'show',
      'table',
      String(LAB_BGP_TABLE),
    ]).catch(() => ({ stdout: '' }));
    return stdout.split('\n').some((line) => line.startsWith(`${this.parts.addresses.vip} `));
  }

  private async startBird(host: string, namespace: string, config: string): Promise<void> {
    const name = `${host}.bird`;
    if (this.parts.processes.pid(name) !== undefined) return;
    const path = join(this.parts.stateDir, `${host}.bird.conf`);
    writeFileSync(path, config);
    // -f: in the foreground, so the pid is BIRD's and it dies with the lab.
    this.parts.processes.start(name, namespace, 'bird', [
      '-f',
      '-c',
      path,
      '-s',
      this.birdSocket(host),
    ]);
    await this.parts.processes.waitForLog(
      name,
      'Started',
      10_000 * (this.parts.options.timeScale ?? 1),
    );
  }
}
