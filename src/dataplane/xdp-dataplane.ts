import { existsSync, mkdirSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ipv6ToString } from '../bpf/codec.js';
import {
  BpfLink,
  type BpfMap,
  BpfObject,
  type BpfProgram,
  bpfObjectPath,
  pinRoot as defaultPinRoot,
  XDP,
  type XdpAttachMode,
} from '../bpf/index.js';
import { LbctlError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import * as abi from './abi.js';
import { connTableSets } from './conn-table.js';
import {
  type DataPlane,
  type DataPlaneCounters,
  DEFAULT_TIMEOUTS,
  type RealCounters,
  type RealSpec,
  type ServiceCounters,
  type ServiceKey,
  type ServiceSpec,
  serviceName,
  type Timeouts,
} from './dataplane.js';
import { IdAllocator } from './ids.js';
import { kernelHz } from './kernel-hz.js';
import { type LinkInfo, LinkTable } from './links.js';
import { maglevTable } from './maglev.js';
import { ServiceTable, serviceTableSets } from './service-table.js';
import { rrSequence, wrrSequence } from './wrr.js';

export interface TunnelOptions {
  /** Outer source address of IPv4 tunnels (required before adding an IPv4 TUN real). */
  readonly sourceV4?: string;
  /** Outer source address of IPv6 tunnels. */
  readonly sourceV6?: string;
  /** Largest outer packet a tunnel may send (default 1500). */
  readonly mtu?: number;
}

export interface XdpDataPlaneOptions {
  /** Names this instance's pin directory: <pinRoot>/<instance>/. */
  readonly instance: string;
  /** Interfaces to attach the program to (none: load only, e.g. for test runs). */
  readonly interfaces?: readonly string[];
  readonly attachMode?: XdpAttachMode;
  /** Pin maps and links so forwarding survives a restart (default true). */
  readonly pin?: boolean;
  readonly pinRoot?: string;
  readonly maxServices?: number;
  readonly maxReals?: number;
  readonly connections?: number;
  readonly persistenceEntries?: number;
  readonly timeouts?: Timeouts;
  readonly tunnel?: TunnelOptions;
  /** Verdict for packets with invalid headers (default pass: the kernel drops them). */
  readonly malformed?: 'pass' | 'drop';
  /** Verdict for IP fragments (default pass). */
  readonly fragments?: 'pass' | 'drop';
  readonly objectPath?: string;
  readonly logger?: Logger;
}

interface AppliedReal {
  readonly id: number;
  readonly spec: RealSpec;
  readonly link: LinkInfo | undefined;
}

interface AppliedService {
  readonly id: number;
  spec: ServiceSpec;
  slot: number;
  reals: Map<string, AppliedReal>;
}

const PROGRAM = 'lb_xdp';
const DEFAULT_MTU = 1500;
const NS_PER_S = 1_000_000_000;
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const serviceKeyString = (k: ServiceKey) => `${k.protocol}|${k.vip}|${k.port}`;
const realKeyString = (address: string, port: number) => `${address}|${port}`;

function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function sumPerCpu(values: readonly Buffer[] | undefined) {
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

/**
 * The XDP data plane: owns the lb program, its maps (pinned per instance) and
 * its XDP links. Every service update writes the new ring into the service's
 * inactive slot and then replaces the service entry, so a packet sees either
 * the old or the new service, never a mix.
 */
export class XdpDataPlane implements DataPlane {
  readonly kind = 'xdp' as const;
  private readonly services_ = new Map<string, AppliedService>();
  private readonly serviceIds: IdAllocator;
  private readonly realIds: IdAllocator;
  private timeouts: Timeouts;
  private closed = false;
  private readonly attached: { ifname: string; mode: string }[] = [];
  private readonly serviceTable: ServiceTable;

  private constructor(
    private readonly options: XdpDataPlaneOptions,
    readonly program: BpfProgram,
    private readonly maps: Readonly<Record<keyof typeof abi.MAPS, BpfMap>>,
    private readonly links: BpfLink[],
    readonly pinDir: string | undefined,
    private readonly log: Logger,
  ) {
    this.serviceIds = new IdAllocator('service', 0, options.maxServices ?? 64);
    this.realIds = new IdAllocator('real', 1, options.maxReals ?? 4096);
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.serviceTable = new ServiceTable(maps.services);
  }

  /** Loads the program (reusing this instance's pinned maps if present) and attaches it. */
  static async open(options: XdpDataPlaneOptions): Promise<XdpDataPlane> {
    if (!INSTANCE_NAME.test(options.instance)) {
      throw new LbctlError(
        'DATAPLANE_INVALID_INSTANCE',
        `Cannot open data plane '${options.instance}': instance names are 1-64 letters, digits, '_', '.', '-'`,
      );
    }
    const log = options.logger ?? silentLogger();
    const maxServices = options.maxServices ?? 64;
    const maxReals = options.maxReals ?? 4096;
    const connections = options.connections ?? 262144;
    const pinDir =
      options.pin === false ? undefined : join(options.pinRoot ?? defaultPinRoot, options.instance);

    const obj = BpfObject.open(options.objectPath ?? bpfObjectPath('lb'));
    try {
      obj.setRodata('lb_malformed_verdict', options.malformed === 'drop' ? XDP.DROP : XDP.PASS);
      obj.setRodata('lb_fragment_verdict', options.fragments === 'drop' ? XDP.DROP : XDP.PASS);
      const connSets = connTableSets(connections);
      obj.setRodata('lb_conn_set_mask', connSets - 1);
      const serviceSets = serviceTableSets(maxServices);
      obj.setRodata('lb_svc_set_mask', serviceSets - 1);
      // Unknown HZ leaves 0: the program then reads bpf_ktime_get_coarse_ns() instead.
      const hz = kernelHz();
      obj.setRodata('lb_ns_per_jiffy', hz === undefined ? 0 : NS_PER_S / hz);
      obj.setMaxEntries(abi.MAPS.rings, maxServices * abi.RING_SLOTS);
      obj.setMaxEntries(abi.MAPS.rrPos, maxServices);
      obj.setMaxEntries(abi.MAPS.serviceStats, maxServices);
      obj.setMaxEntries(abi.MAPS.services, serviceSets);
      obj.setMaxEntries(abi.MAPS.reals, maxReals);
      obj.setMaxEntries(abi.MAPS.realStats, maxReals);
      obj.setMaxEntries(abi.MAPS.conns, connSets);
      obj.setMaxEntries(abi.MAPS.nat, connections);
      obj.setMaxEntries(abi.MAPS.persist, options.persistenceEntries ?? 65536);
      if (pinDir !== undefined) {
        mkdirSync(pinDir, { recursive: true, mode: 0o700 });
        for (const name of Object.values(abi.MAPS)) {
          // libbpf cannot reuse a pinned devmap (the kernel adds BPF_F_RDONLY_PROG to its
          // flags); it holds only ifindexes, so each load rebuilds it from lb_reals.
          if (name !== abi.MAPS.txPorts) obj.setPinPath(name, join(pinDir, name));
        }
      }
      await obj.load();
      const maps = Object.fromEntries(
        Object.entries(abi.MAPS).map(([key, name]) => [key, obj.map(name)]),
      ) as Record<keyof typeof abi.MAPS, BpfMap>;
      const program = obj.program(PROGRAM);
      const plane = new XdpDataPlane(options, program, maps, [], pinDir, log);
      try {
        await plane.recoverPinnedState();
        await plane.writeConfig();
        for (const ifname of options.interfaces ?? []) plane.attach(ifname);
      } catch (err) {
        await plane.close();
        throw err;
      }
      return plane;
    } finally {
      obj.close();
    }
  }

  /** The XDP mode each attachment got (native or generic). */
  linkModes(): Record<string, string> {
    return Object.fromEntries(this.attached.map(({ ifname, mode }) => [ifname, mode]));
  }

  /** A map of this instance, for inspection (bpftool-like views, tests). */
  map(name: keyof typeof abi.MAPS): BpfMap {
    return this.maps[name];
  }

  async setService(spec: ServiceSpec, reals: readonly RealSpec[]): Promise<void> {
    this.requireOpen();
    this.validateService(spec, reals);
    const key = serviceKeyString(spec);
    const existing = this.services_.get(key);
    const id = existing?.id ?? this.serviceIds.allocate();
    const slot = existing === undefined ? 0 : 1 - existing.slot;
    const oldReals = existing?.reals ?? new Map<string, AppliedReal>();
    const newReals = new Map<string, AppliedReal>();
    const allocated: number[] = [];

    try {
      // One interface dump per update, and only when a real names its egress.
      let links: LinkTable | undefined;
      const lookupLink = async (name: string) => {
        links ??= await LinkTable.read();
        return links.byName(name);
      };
      for (const realSpec of reals) {
        const rk = realKeyString(realSpec.address, realSpec.port);
        const previous = oldReals.get(rk);
        const link =
          realSpec.via === undefined ? undefined : await lookupLink(realSpec.via.interface);
        // A real whose forwarding data changed gets a new id: entries are rewritten in place
        // only for weight changes, so no packet reads a half-written address.
        const reuse = previous !== undefined && sameForwarding(previous, realSpec, link);
        const applied: AppliedReal = {
          id: reuse ? previous.id : this.realIds.allocate(),
          spec: realSpec,
          link,
        };
        if (!reuse) allocated.push(applied.id);
        if (!reuse) this.zeroCounters(this.maps.realStats, applied.id);
        this.writeReal(applied, id, spec.vip);
        if (link !== undefined)
          this.maps.txPorts.update(u32Key(link.ifindex), u32Key(link.ifindex));
        newReals.set(rk, applied);
      }
      if (existing === undefined) {
        this.zeroCounters(this.maps.serviceStats, id);
        this.maps.rrPos.update(u32Key(id), u32Key(0));
      }

      // The new ring, with the settings that go with it, goes into the inactive slot;
      // then one byte of the service entry (ring_slot) switches to it.
      const ring = buildRing(spec, [...newReals.values()]);
      this.maps.rings.update(u32Key(id * abi.RING_SLOTS + slot), ring.bytes);
      this.serviceTable.put(encodeServiceKey(spec), id, slot, `service ${serviceName(spec)}`);
    } catch (err) {
      // Nothing points at the new ids yet (the service entry was not replaced).
      for (const realId of allocated) this.realIds.release(realId);
      if (existing === undefined) this.serviceIds.release(id);
      throw err;
    }

    // After the flip: reals that left (or changed) stop carrying their flows.
    for (const [rk, old] of oldReals) {
      const now = newReals.get(rk);
      if (now?.id === old.id) continue;
      this.deactivateReal(old.id);
    }
    this.services_.set(key, { id, spec, slot, reals: newReals });
    await this.writeConfig();
    this.log.debug({ service: serviceName(spec), reals: newReals.size, slot }, 'service applied');
  }

  async removeService(key: ServiceKey): Promise<void> {
    this.requireOpen();
    const applied = this.services_.get(serviceKeyString(key));
    if (applied === undefined) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_SERVICE',
        `Cannot remove service ${serviceName(key)}: it is not configured`,
      );
    }
    this.serviceTable.delete(encodeServiceKey(applied.spec));
    for (const r of applied.reals.values()) this.deactivateReal(r.id);
    this.serviceIds.release(applied.id);
    this.services_.delete(serviceKeyString(key));
    await this.writeConfig();
  }

  async setReal(key: ServiceKey, real: RealSpec): Promise<void> {
    const applied = this.requireService(key, `set real ${real.address}:${real.port}`);
    const reals = [...applied.reals.values()].map((r) => r.spec);
    const i = reals.findIndex((r) => r.address === real.address && r.port === real.port);
    if (i >= 0) reals[i] = real;
    else reals.push(real);
    await this.setService(applied.spec, reals);
  }

  async removeReal(key: ServiceKey, address: string, port: number): Promise<void> {
    const applied = this.requireService(key, `remove real ${address}:${port}`);
    if (!applied.reals.has(realKeyString(address, port))) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_REAL',
        `Cannot remove real ${address}:${port} from ${serviceName(key)}: it is not configured`,
      );
    }
    const reals = [...applied.reals.values()]
      .map((r) => r.spec)
      .filter((r) => !(r.address === address && r.port === port));
    await this.setService(applied.spec, reals);
  }

  async setTimeouts(timeouts: Timeouts): Promise<void> {
    this.requireOpen();
    for (const [name, value] of Object.entries(timeouts)) {
      if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
        throw new LbctlError(
          'DATAPLANE_INVALID_TIMEOUT',
          `Cannot set timeouts: ${name} must be a positive number of seconds, got ${String(value)}`,
        );
      }
    }
    this.timeouts = timeouts;
    await this.writeConfig();
  }

  services(): readonly { service: ServiceSpec; reals: readonly RealSpec[] }[] {
    return [...this.services_.values()].map((s) => ({
      service: s.spec,
      reals: [...s.reals.values()].map((r) => r.spec),
    }));
  }

  async counters(): Promise<DataPlaneCounters> {
    this.requireOpen();
    const global: Record<string, { packets: number; bytes: number }> = {};
    abi.STAT_REASONS.forEach((reason, i) => {
      const { packets, bytes } = sumPerCpu(this.maps.stats.lookupPerCpu(u32Key(i)));
      global[reason] = { packets, bytes };
    });
    const services: ServiceCounters[] = [...this.services_.values()].map((s) => ({
      service: { vip: s.spec.vip, port: s.spec.port, protocol: s.spec.protocol },
      ...sumPerCpu(this.maps.serviceStats.lookupPerCpu(u32Key(s.id))),
      reals: [...s.reals.values()].map(
        (r): RealCounters => ({
          address: r.spec.address,
          port: r.spec.port,
          ...sumPerCpu(this.maps.realStats.lookupPerCpu(u32Key(r.id))),
        }),
      ),
    }));
    return { global, services };
  }

  /** Closes handles; pinned maps and links stay, so forwarding continues. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links) link.close();
    for (const m of Object.values(this.maps)) m.close();
    this.program.close();
  }

  /** Detaches from every interface and removes this instance's pins. */
  async destroy(): Promise<void> {
    for (const link of this.links) {
      try {
        link.detach();
      } catch {
        // Already gone with its interface.
      }
    }
    await this.close();
    if (this.pinDir !== undefined) removePinDir(this.pinDir);
  }

  private attach(ifname: string): void {
    const pinPath = this.pinDir === undefined ? undefined : join(this.pinDir, `link_${ifname}`);
    if (pinPath !== undefined && existsSync(pinPath)) {
      const pinned = BpfLink.openPinned(pinPath);
      try {
        pinned.update(this.program);
        this.links.push(pinned);
        this.attached.push({ ifname, mode: 'pinned' });
        this.log.info({ ifname }, 'took over pinned XDP link');
        return;
      } catch (err) {
        // The interface went away with the old attachment: start afresh.
        pinned.close();
        unlinkSync(pinPath);
        this.log.warn({ ifname, err }, 'pinned XDP link unusable; attaching anew');
      }
    }
    const link = this.program.attachXdp(ifname, { mode: this.options.attachMode ?? 'auto' });
    if (pinPath !== undefined) link.pin(pinPath);
    this.links.push(link);
    this.attached.push({ ifname, mode: link.mode ?? 'unknown' });
    const { ifindex = 0 } = link.info();
    this.maps.txPorts.update(u32Key(ifindex), u32Key(ifindex));
    this.log.info({ ifname, mode: link.mode }, 'XDP attached');
  }

  private async writeConfig(): Promise<void> {
    const tunnel = this.options.tunnel ?? {};
    const natEnabled = [...this.services_.values()].some((s) =>
      [...s.reals.values()].some((r) => r.spec.forwarding === 'nat'),
    );
    this.maps.config.update(
      u32Key(0),
      abi.config.encode({
        tcp_timeout_ns: BigInt(Math.round(this.timeouts.tcpS * NS_PER_S)),
        tcp_fin_timeout_ns: BigInt(Math.round(this.timeouts.tcpFinS * NS_PER_S)),
        udp_timeout_ns: BigInt(Math.round(this.timeouts.udpS * NS_PER_S)),
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
      }),
    );
  }

  private writeReal(real: AppliedReal, serviceId: number, vip: string): void {
    const family = abi.familyOf(real.spec.address, `real ${real.spec.address}`);
    this.maps.reals.update(
      u32Key(real.id),
      abi.real.encode({
        addr: abi.addrBytes(family, real.spec.address),
        port: real.spec.port,
        family: abi.FAMILY[family],
        fwd: abi.FWD[real.spec.forwarding],
        mac: real.spec.via?.mac ?? '00:00:00:00:00:00',
        src_mac: real.link?.mac ?? '00:00:00:00:00:00',
        ifindex: real.link?.ifindex ?? 0,
        service_id: serviceId,
        weight: real.spec.weight,
        flags: abi.REAL_F_ACTIVE,
      }),
    );
    this.log.trace({ real: real.spec.address, id: real.id, vip }, 'real written');
  }

  private deactivateReal(id: number): void {
    const key = u32Key(id);
    const current = this.maps.reals.lookup(key);
    if (current !== undefined) {
      // flags is the last u32 of the struct: clearing it alone is a single aligned store.
      const value = Buffer.from(current);
      value.writeUInt32LE(0, abi.real.offsetOf('flags'));
      this.maps.reals.update(key, value);
    }
    this.realIds.release(id);
  }

  private zeroCounters(map: BpfMap, id: number): void {
    map.update(u32Key(id), Buffer.alloc(abi.counters.size));
  }

  /** After a restart, adopt the ids of services and reals still in the pinned maps. */
  private async recoverPinnedState(): Promise<void> {
    const realsByService = new Map<number, AppliedReal[]>();
    let links: LinkTable | undefined;
    for (const [k, v] of this.maps.reals.entries()) {
      const r = abi.real.decode(v);
      if ((r.flags & abi.REAL_F_ACTIVE) === 0) continue;
      const id = k.readUInt32LE(0);
      const family = r.family === abi.FAMILY.ipv6 ? 'ipv6' : 'ipv4';
      const address = addrText(family, r.addr);
      links ??= r.ifindex ? await LinkTable.read() : undefined;
      const link = r.ifindex ? links?.byIndex(r.ifindex) : undefined;
      const forwarding =
        (Object.keys(abi.FWD) as abi.ForwardingMethod[]).find((f) => abi.FWD[f] === r.fwd) ?? 'dr';
      const spec: RealSpec = {
        address,
        port: r.port,
        weight: r.weight,
        forwarding,
        ...(link === undefined ? {} : { via: { interface: link.name, mac: r.mac } }),
      };
      this.realIds.claim(id);
      if (r.ifindex !== 0) this.maps.txPorts.update(u32Key(r.ifindex), u32Key(r.ifindex));
      const list = realsByService.get(r.service_id) ?? [];
      list.push({ id, spec, link });
      realsByService.set(r.service_id, list);
    }
    for (const entry of this.serviceTable.entries()) {
      const { key } = entry;
      const ring = this.maps.rings.lookup(u32Key(entry.id * abi.RING_SLOTS + entry.ringSlot));
      if (ring === undefined) continue;
      const params = abi.ringParams.decode(ring);
      const family = key.family === abi.FAMILY.ipv6 ? 'ipv6' : 'ipv4';
      const scheduler =
        (Object.keys(abi.SCHED) as abi.XdpScheduler[]).find((s) => abi.SCHED[s] === params.sched) ??
        'rr';
      const spec: ServiceSpec = {
        vip: addrText(family, key.addr),
        port: key.port,
        protocol: key.proto === abi.PROTO.udp ? 'udp' : 'tcp',
        scheduler,
        ...((params.flags & abi.SVC_F_PERSISTENT) !== 0
          ? {
              persistence: {
                timeoutS: params.persist_timeout_s,
                prefixLength: params.persist_prefix,
              },
            }
          : {}),
        ...((params.flags & abi.SVC_F_HASH_PORT) !== 0 ? { hashSourcePort: true } : {}),
      };
      this.serviceIds.claim(entry.id);
      const reals = new Map(
        (realsByService.get(entry.id) ?? []).map((r) => [
          realKeyString(r.spec.address, r.spec.port),
          r,
        ]),
      );
      this.services_.set(serviceKeyString(spec), {
        id: entry.id,
        spec,
        slot: entry.ringSlot,
        reals,
      });
    }
    if (this.services_.size > 0) {
      this.log.info({ services: this.services_.size }, 'recovered services from pinned maps');
    }
  }

  private validateService(spec: ServiceSpec, reals: readonly RealSpec[]): void {
    const name = serviceName(spec);
    const fail = (reason: string, code = 'DATAPLANE_INVALID_SERVICE'): never => {
      throw new LbctlError(code, `Cannot set service ${name}: ${reason}`);
    };
    const family = abi.familyOf(spec.vip, `service ${name}`);
    if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65535)
      fail(`port ${spec.port} is out of range`);
    if (!(spec.scheduler in abi.SCHED)) {
      fail(
        `the XDP data plane has no live connection counts for scheduler ${spec.scheduler}; ` +
          'lc/wlc/sed/nq services belong on the IPVS data plane',
        'DATAPLANE_UNSUPPORTED_SCHEDULER',
      );
    }
    if (spec.port === 0 && spec.persistence === undefined)
      fail('an all-ports service (port 0) must be persistent');
    if (spec.persistence !== undefined) {
      const { timeoutS, prefixLength } = spec.persistence;
      if (!Number.isInteger(timeoutS) || timeoutS <= 0 || timeoutS > 0xffffffff)
        fail(`persistence timeout ${timeoutS} is not a positive number of seconds`);
      const max = family === 'ipv4' ? 32 : 128;
      if (
        prefixLength !== undefined &&
        (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max)
      ) {
        fail(`persistence granularity /${prefixLength} is not a valid ${family} prefix length`);
      }
    }
    if (reals.length > abi.MAX_REALS_PER_SERVICE)
      fail(`${reals.length} reals exceed the limit of ${abi.MAX_REALS_PER_SERVICE}`);
    const seen = new Set<string>();
    for (const r of reals) {
      const what = `real ${r.address}:${r.port}`;
      const realFamily = abi.familyOf(r.address, what);
      const rk = realKeyString(r.address, r.port);
      if (seen.has(rk)) fail(`${what} is listed twice`);
      seen.add(rk);
      if (!Number.isInteger(r.weight) || r.weight < 0 || r.weight > 0xffffffff)
        fail(`${what} has invalid weight ${r.weight}`);
      if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535)
        fail(`${what} has an out-of-range port`);
      if (r.via === undefined)
        fail(`${what} needs a next hop (interface and MAC) on the XDP data plane`);
      if (r.forwarding === 'nat') {
        if (realFamily !== family) fail(`${what}: NAT cannot translate between IPv4 and IPv6`);
        if (spec.port === 0) fail(`${what}: NAT needs a service port`);
        if (r.port === 0) fail(`${what}: NAT needs the real's port`);
      } else {
        if (r.forwarding === 'dr' && realFamily !== family)
          fail(`${what}: DR needs the real in the VIP's address family`);
        if (r.port !== 0 && r.port !== spec.port)
          fail(
            `${what}: ${r.forwarding.toUpperCase()} cannot change the port (${spec.port} -> ${r.port})`,
          );
      }
      if (r.forwarding === 'tun') {
        const src =
          realFamily === 'ipv4' ? this.options.tunnel?.sourceV4 : this.options.tunnel?.sourceV6;
        if (src === undefined)
          fail(
            `${what}: tunnelling to ${realFamily} needs tunnel.source${realFamily === 'ipv4' ? 'V4' : 'V6'}`,
          );
      }
    }
  }

  private requireService(key: ServiceKey, action: string): AppliedService {
    this.requireOpen();
    const applied = this.services_.get(serviceKeyString(key));
    if (applied === undefined) {
      throw new LbctlError(
        'DATAPLANE_NO_SUCH_SERVICE',
        `Cannot ${action}: service ${serviceName(key)} is not configured`,
      );
    }
    return applied;
  }

  private requireOpen(): void {
    if (this.closed)
      throw new LbctlError('DATAPLANE_CLOSED', 'Cannot use the data plane: it is closed');
  }
}

function sameForwarding(
  previous: AppliedReal,
  spec: RealSpec,
  link: LinkInfo | undefined,
): boolean {
  const p = previous.spec;
  return (
    p.forwarding === spec.forwarding &&
    p.via?.mac.toLowerCase() === spec.via?.mac.toLowerCase() &&
    previous.link?.ifindex === link?.ifindex &&
    previous.link?.mac === link?.mac
  );
}

function encodeServiceKey(spec: ServiceKey) {
  const family = abi.familyOf(spec.vip, `VIP ${spec.vip}`);
  return {
    addr: abi.addrBytes(family, spec.vip),
    port: spec.port,
    proto: abi.PROTO[spec.protocol],
    family: abi.FAMILY[family],
  };
}

function persistPrefix(spec: Pick<ServiceSpec, 'vip' | 'persistence'>): number {
  if (spec.persistence === undefined) return 0;
  const family = abi.familyOf(spec.vip, `VIP ${spec.vip}`);
  return spec.persistence.prefixLength ?? (family === 'ipv4' ? 32 : 128);
}

/** The scheduling ring for a service (rr/wrr sequence or weighted Maglev table), settings first. */
export function buildRing(
  spec: Pick<ServiceSpec, 'vip' | 'scheduler' | 'persistence' | 'hashSourcePort'>,
  reals: readonly { id: number; spec: Pick<RealSpec, 'address' | 'port' | 'weight'> }[],
): { bytes: Buffer; length: number } {
  const weighted = reals.map((r) => ({ id: r.id, weight: r.spec.weight }));
  let entries: ArrayLike<number>;
  let length: number;
  if (spec.scheduler === 'rr' || spec.scheduler === 'wrr') {
    const seq =
      spec.scheduler === 'rr' ? rrSequence(weighted) : wrrSequence(weighted, abi.RING_SIZE);
    entries = seq;
    length = seq.length;
  } else {
    entries = maglevTable(
      reals.map((r) => ({
        id: r.id,
        key: realKeyString(r.spec.address, r.spec.port),
        weight: r.spec.weight,
      })),
      abi.RING_SIZE,
    );
    length = weighted.some((r) => r.weight > 0) ? abi.RING_SIZE : 0;
  }
  const bytes = Buffer.alloc(abi.RING_BYTES);
  abi.ringParams
    .encode({
      ring_len: length,
      sched: abi.SCHED[spec.scheduler as abi.XdpScheduler],
      flags:
        (spec.persistence ? abi.SVC_F_PERSISTENT : 0) |
        (spec.hashSourcePort ? abi.SVC_F_HASH_PORT : 0),
      persist_prefix: persistPrefix(spec),
      persist_timeout_s: spec.persistence?.timeoutS ?? 0,
    })
    .copy(bytes, 0);
  const at = abi.ringParams.size;
  for (let i = 0; i < entries.length; i++) bytes.writeUInt32LE(entries[i]!, at + i * 4);
  return { bytes, length };
}

function addrText(family: abi.Family, addr: Buffer): string {
  if (family === 'ipv4') return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  return ipv6ToString(addr);
}

function removePinDir(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
  rmdirSync(dir);
}
