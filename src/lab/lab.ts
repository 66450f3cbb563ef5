import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bpfObjectPath, pinRoot } from '../bpf/index.js';
import { LbctlError } from '../errors.js';
import { runIn } from '../netns/exec.js';
import {
  createNamespace,
  createSwitch,
  deleteNamespace,
  listNamespaces,
  plugIntoSwitch,
} from '../netns/netns.js';
import { packageRoot } from '../paths.js';
import { directorConfig } from './director-config.js';
import { EcmpFabric } from './ecmp-fabric.js';
import { NAME_SERVER, NEW_CONNECTIONS_CLIENT, TX_CHECKSUM_OFF } from './host-programs.js';
import {
  type LabAddresses,
  type LabOptions,
  labAddresses,
  labHosts,
  validateLabOptions,
} from './lab-spec.js';
import { LabProcesses, namespacePids, sleep, stopPid } from './processes.js';

export interface LabHostStatus {
  readonly host: string;
  readonly namespace: string;
  readonly address: string;
  /** What runs there: "lbctl up (pid 123)", "http rs1 (pid 456)", "stopped". */
  readonly running: string;
  readonly holdsVip: boolean;
  /** ECMP lab: `holdsVip` means the director announces the VIP over BGP. */
  readonly announces?: boolean;
}

const HTTP_PORT = 80;

/**
 * The classic keepalived + LVS-DR site on one machine: a client, one or two directors running
 * `lbctl up`, and real servers answering HTTP with their name, all on one L2
 * segment (a bridge in a switch namespace, a veth per host). Everything is
 * named with the prefix, so `down` (or the next `up`) removes what a crashed
 * run left behind.
 */
export class Lab {
  readonly addresses: LabAddresses;
  readonly hosts: ReturnType<typeof labHosts>;
  private readonly processes: LabProcesses;
  private readonly stateDir: string;
  /** The upstream router and BGP of the ECMP lab. */
  readonly ecmp: EcmpFabric | undefined;
  /** True when VRRP moved the VIP; false when the lab had to place it itself. */
  vrrpActive = false;

  constructor(readonly options: LabOptions) {
    validateLabOptions(options);
    this.addresses = labAddresses(options);
    this.hosts = labHosts(options);
    this.stateDir = join(options.stateDir, options.prefix);
    this.processes = new LabProcesses(this.stateDir);
    this.ecmp = options.ecmp
      ? new EcmpFabric({
          options,
          addresses: this.addresses,
          hosts: this.hosts,
          stateDir: this.stateDir,
          processes: this.processes,
          namespace: (host) => this.namespace(host),
          switchNamespace: this.switchNamespace,
        })
      : undefined;
  }

  /** The lab as `up` built it (from its saved options), or the default one. */
  static load(defaults: LabOptions): Lab {
    const saved = join(defaults.stateDir, defaults.prefix, 'lab.json');
    if (!existsSync(saved)) return new Lab(defaults);
    return new Lab({
      ...defaults,
      ...(JSON.parse(readFileSync(saved, 'utf8')) as Partial<LabOptions>),
    });
  }

  /** Bounds on helper processes stretch by this factor (an emulated kernel is slower). */
  private get timeScale(): number {
    return this.options.timeScale ?? 1;
  }

  namespace(host: string): string {
    return `${this.options.prefix}-${host}`;
  }

  instance(director: string): string {
    return `${this.options.prefix}-${director}`;
  }

  /**
   * The switch side of a host's veth, named after the host alone: names are
   * unique inside the lab's own switch namespace, and the prefix then only
   * has to fit namespace names (so tests can use random prefixes).
   */
  private switchPort(host: string): string {
    return host;
  }

  private get switchNamespace(): string {
    return this.namespace('switch');
  }

  /** Builds the lab from scratch (removing leftovers first) and starts everything. */
  async up(report: (line: string) => void = () => undefined): Promise<void> {
    await this.down();
    mkdirSync(this.stateDir, { recursive: true });
    const { virtualServers: _generated, directorExtraConfig: _extra, ...saved } = this.options;
    writeFileSync(join(this.stateDir, 'lab.json'), `${JSON.stringify(saved, null, 2)}\n`);
    try {
      report(`switch: bridge br0 in ${this.switchNamespace}`);
      await createSwitch(this.switchNamespace);
      const a = this.addresses;
      if (this.ecmp !== undefined) {
        await this.ecmp.addRouter();
        report(`router ${a.router?.site} / ${a.router?.clients}: BIRD, ECMP over L4 hashes`);
      }
      await Promise.all([
        this.ecmp !== undefined ? this.ecmp.addClient() : this.addHost(this.hosts.client, a.client),
        ...this.hosts.directors.map((d, i) => this.addHost(d, a.directors[i]!)),
        ...this.hosts.reals.map((r, i) => this.addHost(r, a.reals[i]!)),
      ]);
      report(`client ${a.client}, directors ${a.directors.join(' ')}, reals ${a.reals.join(' ')}`);
      await Promise.all(this.hosts.reals.map((r) => this.prepareReal(r)));
      report(`real servers answer HTTP with their name; VIP ${a.vip} on lo, ARP suppressed`);
      if (!this.options.vrrp) await this.placeVip(this.hosts.directors[0]!);
      if (this.ecmp !== undefined) await this.ecmp.prepareHosts();
      for (const [i, director] of this.hosts.directors.entries()) {
        await this.prepareDirector(director, i);
      }
      await Promise.all(this.hosts.directors.map((d) => this.startDirector(d)));
      report(`directors run lbctl up (logs in ${this.stateDir})`);
      if (this.options.vrrp) await this.awaitVrrpMaster(report);
      if (this.ecmp !== undefined) {
        await this.ecmp.awaitPaths(this.hosts.directors.length, 20_000 * this.timeScale);
        report(`the router has ${this.hosts.directors.length} equal paths to ${a.vip}`);
      }
    } catch (err) {
      const tail = err instanceof Error ? err.message : String(err);
      await this.down();
      throw new LbctlError('LAB_UP_FAILED', `Cannot build the lab: ${tail}`);
    }
  }

  /** Removes every namespace, process, pin and file of this lab's prefix. */
  async down(): Promise<void> {
    const namespaces = await listNamespaces(`${this.options.prefix}-`);
    // Directors first, politely: they detach XDP and remove their pins on SIGTERM.
    const directors = namespaces.filter((ns) => ns.includes('-director'));
    const others = namespaces.filter((ns) => !directors.includes(ns));
    for (const group of [directors, others]) {
      const pids = (await Promise.all(group.map((ns) => namespacePids(ns)))).flat();
      await Promise.all(pids.map((pid) => stopPid(pid, 5000)));
    }
    for (const ns of namespaces) await deleteNamespace(ns);
    for (const director of this.hosts.directors) {
      rmSync(join(pinRoot, this.instance(director)), { recursive: true, force: true });
      rmSync(join('/run/lbctl', `${this.instance(director)}.pid`), { force: true });
    }
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Runs a command on a lab host and returns its output. */
  async exec(host: string, file: string, args: readonly string[], timeoutMs = 30_000) {
    this.requireHost(host);
    return runIn(this.namespace(host), file, args, { timeoutMs });
  }

  /**
   * HTTP requests from the client to the VIP, each on a new connection, one
   * after the other; a request that fails gives "FAILED".
   */
  async requests(count: number, port = HTTP_PORT, timeoutS = 1): Promise<string[]> {
    const url = `http://${this.addresses.vip}:${port}/`;
    const script = `for i in $(seq ${count}); do curl -s --max-time ${timeoutS} ${url} || echo FAILED; done`;
    const { stdout } = await this.exec(
      this.hosts.client,
      'sh',
      ['-c', script],
      count * (timeoutS + 1) * 1000 + 5000,
    );
    return stdout.trim().split('\n');
  }

  /**
   * `count` HTTP requests from the client to the VIP, each on a new connection, `parallel` at
   * a time: the answers per real and the failures.
   */
  async newConnections(
    count: number,
    parallel = 16,
    port = HTTP_PORT,
  ): Promise<{ answers: Record<string, number>; failed: number }> {
    const { stdout } = await this.exec(
      this.hosts.client,
      process.execPath,
      [
        '-e',
        NEW_CONNECTIONS_CLIENT,
        this.addresses.vip,
        String(port),
        String(count),
        String(parallel),
        '2000',
      ],
      count * 2000 + 10_000,
    );
    return JSON.parse(stdout) as { answers: Record<string, number>; failed: number };
  }

  /** Starts a real server's HTTP server, or a director's lbctl. */
  async start(host: string): Promise<void> {
    this.requireHost(host);
    if (this.hosts.directors.includes(host)) await this.startDirector(host);
    else if (this.hosts.reals.includes(host)) await this.startHttp(host, host, this.realPorts);
    else
      throw new LbctlError(
        'LAB_NO_SUCH_HOST',
        `Cannot start ${host}: only directors and reals run programs`,
      );
  }

  /**
   * Stops a real server's HTTP server, or a director's lbctl (SIGTERM: a clean shutdown).
   * In the ECMP lab SIGKILL stands for the director's crash: its BGP daemon dies too.
   */
  async stop(host: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
    this.requireHost(host);
    const director = this.hosts.directors.includes(host);
    const name = director ? `${host}.lbctl` : `${host}.http`;
    // A clean shutdown (detach, withdraw, remove services) takes longer on an emulated kernel.
    const graceMs = 5000 * this.timeScale;
    if (director && this.ecmp !== undefined && signal === 'SIGKILL') {
      const [bird, lbctl] = await Promise.all([
        this.processes.stop(`${host}.bird`, graceMs, signal),
        this.processes.stop(name, graceMs, signal),
      ]);
      return bird || lbctl;
    }
    return this.processes.stop(name, graceMs, signal);
  }

  /** The log of a director's lbctl. */
  directorLog(director: string): string {
    return this.processes.log(`${director}.lbctl`);
  }

  async status(): Promise<LabHostStatus[] | undefined> {
    const existing = await listNamespaces(`${this.options.prefix}-`);
    if (!existing.includes(this.switchNamespace)) return undefined;
    const a = this.addresses;
    const rows: [string, string][] = [
      [this.hosts.client, a.client],
      ...(this.hosts.router !== undefined && a.router !== undefined
        ? [[this.hosts.router, a.router.site] as [string, string]]
        : []),
      ...this.hosts.directors.map((d, i): [string, string] => [d, a.directors[i]!]),
      ...this.hosts.reals.map((r, i): [string, string] => [r, a.reals[i]!]),
    ];
    return Promise.all(
      rows.map(async ([host, address]) => {
        const namespace = this.namespace(host);
        if (!existing.includes(namespace)) {
          return { host, namespace, address, running: 'missing', holdsVip: false };
        }
        const programs: string[] = [];
        const lbctl = this.processes.pid(`${host}.lbctl`);
        if (lbctl !== undefined) programs.push(`lbctl up (pid ${lbctl})`);
        const http = this.processes.pid(`${host}.http`);
        if (http !== undefined) programs.push(`http (pid ${http})`);
        const holdsVip = this.hosts.directors.includes(host) ? await this.holdsVip(host) : false;
        const bird = this.processes.pid(`${host}.bird`);
        if (bird !== undefined) programs.push(`bird (pid ${bird})`);
        return {
          host,
          namespace,
          address,
          running: programs.join(', ') || 'stopped',
          holdsVip,
          ...(this.ecmp !== undefined ? { announces: holdsVip } : {}),
        };
      }),
    );
  }

  /**
   * True when the director has the VIP on eth0 (is the VRRP master, or holds it statically);
   * in the ECMP lab, when it announces the VIP (its route is in the announcement table).
   */
  async holdsVip(host: string): Promise<boolean> {
    if (this.ecmp !== undefined) return this.ecmp.announces(host);
    const { stdout } = await runIn(this.namespace(host), 'ip', [
      '-o',
      'addr',
      'show',
      'dev',
      'eth0',
    ]);
    return stdout.includes(` ${this.addresses.vip}/`);
  }

  private requireHost(host: string): void {
    const router = this.hosts.router === undefined ? [] : [this.hosts.router];
    const all = [this.hosts.client, ...router, ...this.hosts.directors, ...this.hosts.reals];
    if (!all.includes(host)) {
      throw new LbctlError(
        'LAB_NO_SUCH_HOST',
        `Cannot use lab host '${host}': the lab has ${all.join(', ')}`,
      );
    }
  }

  private async addHost(host: string, address: string): Promise<void> {
    const ns = this.namespace(host);
    await createNamespace(ns);
    await plugIntoSwitch(this.switchNamespace, this.switchPort(host), ns);
    await runIn(ns, 'ip', [
      'addr',
      'add',
      `${address}/${this.addresses.prefixLength}`,
      'dev',
      'eth0',
    ]);
    await runIn(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await runIn(ns, 'python3', ['-c', TX_CHECKSUM_OFF, 'eth0']);
  }

  /** LVS-DR real server: answers for the VIP without announcing it (arp_ignore/arp_announce). */
  private async prepareReal(host: string): Promise<void> {
    const ns = this.namespace(host);
    await runIn(ns, 'sysctl', [
      '-q',
      '-w',
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
      'net.ipv4.conf.lo.arp_ignore=1',
      'net.ipv4.conf.lo.arp_announce=2',
    ]);
    await runIn(ns, 'ip', ['addr', 'add', `${this.addresses.vip}/32`, 'dev', 'lo']);
    await this.startHttp(host, host, this.realPorts);
  }

  private get realPorts(): readonly number[] {
    return this.options.httpPorts ?? [HTTP_PORT];
  }

  private async prepareDirector(director: string, index: number): Promise<void> {
    const config = directorConfig(this.options, this.addresses, index, this.instance(director));
    writeFileSync(this.configPath(director), config);
    // The sorry server (127.0.0.1:80 in the configuration) answers for the VIP locally.
    await this.startHttp(director, `sorry-${director}`, [HTTP_PORT]);
    // XDP_TX back into a veth needs an XDP program on its peer: a pass-through one.
    await runIn(this.switchNamespace, 'ip', [
      'link',
      'set',
      'dev',
      this.switchPort(director),
      'xdpdrv',
      'obj',
      bpfObjectPath('baseline'),
      'sec',
      'xdp',
    ]);
  }

  configPath(director: string): string {
    return join(this.stateDir, `${director}.conf`);
  }

  private async startDirector(director: string): Promise<void> {
    if (this.ecmp !== undefined) await this.ecmp.startDirectorBird(director);
    const name = `${director}.lbctl`;
    if (this.processes.pid(name) !== undefined) return;
    const bin = join(packageRoot, 'bin', 'lbctl');
    if (!existsSync(join(packageRoot, 'dist', 'src', 'cli', 'main.js'))) {
      throw new LbctlError(
        'LAB_NOT_BUILT',
        'Cannot start a director: lbctl is not built (npm run build)',
      );
    }
    this.processes.start(
      name,
      this.namespace(director),
      process.execPath,
      [bin, 'up', this.configPath(director), '--run-dir', this.stateDir],
      { LBCTL_LOG_LEVEL: 'info' },
    );
    await this.processes.waitForLog(name, 'lbctl is up', 20_000 * this.timeScale);
  }

  private async startHttp(host: string, answer: string, ports: readonly number[]): Promise<void> {
    const name = `${host}.http`;
    if (this.processes.pid(name) !== undefined) return;
    this.processes.start(name, this.namespace(host), process.execPath, [
      '-e',
      NAME_SERVER,
      answer,
      ports.join(','),
    ]);
    await this.processes.waitForLog(name, 'listening', 10_000 * this.timeScale);
  }

  private async placeVip(director: string): Promise<void> {
    await runIn(this.namespace(director), 'ip', [
      'addr',
      'add',
      `${this.addresses.vip}/32`,
      'dev',
      'eth0',
    ]);
  }

  private async awaitVrrpMaster(report: (line: string) => void): Promise<void> {
    const master = this.hosts.directors[0]!;
    const deadline = Date.now() + 6000 * this.timeScale;
    while (Date.now() < deadline) {
      if (await this.holdsVip(master)) {
        this.vrrpActive = true;
        report(`VRRP: ${master} is master and holds VIP ${this.addresses.vip}`);
        return;
      }
      await sleep(100);
    }
    await this.placeVip(master);
    report(`VRRP did not place the VIP; ${master} holds ${this.addresses.vip} statically`);
  }
}
