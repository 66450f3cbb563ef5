/**
 * A test LAN: a bridge in a "switch" namespace and one namespace per host,
 * each joined to the bridge by a veth (eth0 on the host side). Everything is
 * named lbt-<role>-<id> and removed by destroy(), which also stops processes
 * the LAN started.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpfObjectPath, pinRoot } from '../../../src/bpf/index.js';
import type { DataPlaneCounters } from '../../../src/dataplane/dataplane.js';
import { runIn, spawnIn } from '../../../src/netns/exec.js';
import {
  createNamespace,
  createSwitch,
  deleteNamespace,
  disableTxChecksumOffload,
  plugIntoSwitch,
} from '../../../src/netns/netns.js';
import { SLOWDOWN } from '../../support/slowdown.js';
import type { DirectorRequest } from './director.js';

export interface HostSpec {
  readonly role: string;
  readonly mac: string;
  readonly addresses: readonly string[];
  readonly gateway?: string;
}

const HTTP_SERVER = `
const http = require('node:http');
const [name, port] = process.argv.slice(1);
http
  .createServer((req, res) => { res.setHeader('connection', 'close'); res.end(name); })
  .listen(Number(port), '0.0.0.0', () => console.log('ready'));
`;

const ECHO_SERVER = `
const net = require('node:net');
net
  .createServer((socket) => { socket.on('error', () => {}); socket.pipe(socket); })
  .listen(Number(process.argv[1]), '0.0.0.0', () => console.log('ready'));
`;

export class Lan {
  readonly id = randomBytes(3).toString('hex');
  readonly switchNs = `lbt-s-${this.id}`;
  readonly instance = `lbt-${this.id}`;
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];

  ns(role: string): string {
    return `lbt-${role}-${this.id}`;
  }

  async create(): Promise<void> {
    this.namespaces.push(this.switchNs);
    await createSwitch(this.switchNs);
  }

  async addHost(host: HostSpec): Promise<string> {
    const ns = this.ns(host.role);
    const port = `p-${host.role}`;
    this.namespaces.push(ns);
    await createNamespace(ns);
    await plugIntoSwitch(this.switchNs, port, ns);
    await runIn(ns, 'ip', ['link', 'set', 'eth0', 'address', host.mac]);
    for (const a of host.addresses) await runIn(ns, 'ip', ['addr', 'add', a, 'dev', 'eth0']);
    await runIn(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await this.softwareChecksums(host.role);
    if (host.gateway !== undefined) {
      await runIn(ns, 'ip', ['route', 'add', 'default', 'via', host.gateway]);
    }
    return ns;
  }

  /** See disableTxChecksumOffload: hosts put complete checksums on the wire, like real NICs. */
  async softwareChecksums(role: string): Promise<void> {
    await disableTxChecksumOffload(this.ns(role), 'eth0');
  }

  /** XDP_TX back into a veth needs an XDP program on the peer: attach a pass-through one. */
  async passXdpOnSwitchPort(role: string): Promise<void> {
    await runIn(this.switchNs, 'ip', [
      'link',
      'set',
      'dev',
      `p-${role}`,
      'xdpdrv',
      'obj',
      bpfObjectPath('baseline'),
      'sec',
      'xdp',
    ]);
  }

  async sysctl(role: string, settings: readonly string[]): Promise<void> {
    await runIn(this.ns(role), 'sysctl', ['-q', '-w', ...settings]);
  }

  /** Starts an HTTP server answering `name` and waits until it listens. */
  async httpServer(role: string, name: string, port: number): Promise<void> {
    await this.server(role, name, HTTP_SERVER, [name, String(port)]);
  }

  /** A TCP server echoing every byte back, connections kept open (long-lived flows). */
  async echoServer(role: string, port: number): Promise<void> {
    await this.server(role, `echo-${role}`, ECHO_SERVER, [String(port)]);
  }

  /** Runs a Node script (`-e`) in a host until destroy; resolves at its first output line. */
  private async server(role: string, name: string, script: string, args: readonly string[]) {
    const child = spawnIn(this.ns(role), process.execPath, ['-e', script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.processes.push(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${name} did not start`)), 10_000);
      child.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server ${name} exited with ${code}`));
      });
    });
  }

  /**
   * Starts capturing `count` frames matching `filter` on a host's eth0;
   * resolves once tcpdump listens, with a promise of the captured frames
   * (wrapped: an async function cannot return a bare promise without awaiting it).
   */
  async capture(
    role: string,
    filter: string,
    count: number,
  ): Promise<{ frames: Promise<Buffer[]> }> {
    const child = spawnIn(
      this.ns(role),
      'timeout',
      ['10', 'tcpdump', '-U', '-n', '-i', 'eth0', '-c', String(count), '-w', '-', filter],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.processes.push(child);
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise<Buffer[]>((resolve) => {
      child.once('close', () => resolve(pcapFrames(Buffer.concat(chunks))));
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
      child.stderr?.on('data', (c: Buffer) => {
        if (c.toString().includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return { frames: done };
  }

  /** One HTTP request (one new TCP connection) from a host; returns the body. */
  async get(role: string, url: string): Promise<string> {
    const { stdout } = await runIn(
      this.ns(role),
      'curl',
      ['-s', '--max-time', String(3 * SLOWDOWN), url],
      { timeoutMs: 5_000 * SLOWDOWN },
    );
    return stdout;
  }

  /** A request that is expected to get no answer (e.g. into a tunnel nobody decapsulates). */
  async getUnanswered(role: string, url: string): Promise<void> {
    await runIn(this.ns(role), 'curl', ['-s', '--max-time', '1', url], { timeoutMs: 5_000 }).then(
      () => {
        throw new Error(`${url} answered`);
      },
      () => undefined,
    );
  }

  /** Runs the director script in the director namespace (compiled .js or, in development, .ts). */
  async director(
    role: string,
    request: Omit<DirectorRequest, 'instance'>,
  ): Promise<DirectorOutput> {
    const here = fileURLToPath(import.meta.url);
    const script = join(dirname(here), here.endsWith('.ts') ? 'director.ts' : 'director.js');
    const loader = here.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const { stdout } = await runIn(
      this.ns(role),
      process.execPath,
      [...loader, script, JSON.stringify({ instance: this.instance, ...request })],
      { timeoutMs: 20_000 * SLOWDOWN },
    );
    return JSON.parse(stdout) as DirectorOutput;
  }

  async destroy(): Promise<void> {
    for (const p of this.processes) p.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) await deleteNamespace(ns);
    rmSync(join(pinRoot, this.instance), { recursive: true, force: true });
  }
}

/** Frames of a classic pcap stream (little-endian, as tcpdump writes on x86). */
function pcapFrames(pcap: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let off = 24;
  while (off + 16 <= pcap.length) {
    const len = pcap.readUInt32LE(off + 8);
    frames.push(pcap.subarray(off + 16, off + 16 + len));
    off += 16 + len;
  }
  return frames;
}

export interface DirectorOutput {
  modes: Record<string, string>;
  recovered: number;
  /** What XdpDataPlane.counters() returned (JSON). */
  counters: DataPlaneCounters;
}
