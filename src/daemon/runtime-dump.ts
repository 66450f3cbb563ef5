import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { serviceName } from '../dataplane/dataplane.js';
import type { Logger } from '../log.js';
import type { MetricsSources } from '../metrics/collectors.js';
import { LoopSlicer } from '../time/loop-slice.js';

/**
 * keepalived's SIGUSR1 (/tmp/keepalived.data) and SIGUSR2
 * (/tmp/keepalived.stats) dumps, as plain text for a person. They go to the
 * run directory (/run/lbctl/<instance>.data and .stats, root only) rather
 * than /tmp, where a root daemon writing a predictable name could be led
 * through a symlink.
 */
export function dumpPaths(runDir: string, instance: string): { data: string; stats: string } {
  return { data: join(runDir, `${instance}.data`), stats: join(runDir, `${instance}.stats`) };
}

function header(title: string, instance: string, now: Date): string[] {
  return [
    `------< lbctl ${title}: instance ${instance}, pid ${process.pid}, ${now.toISOString()} >------`,
  ];
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Configuration and live state of every VRRP instance, virtual server and
 * real. Written in loop slices: at 1,000 services × 32 reals the text is
 * 2.5 MB, 60–100 ms of work in one turn.
 */
export async function dataDump(
  sources: MetricsSources,
  instance: string,
  now = new Date(),
): Promise<string> {
  const slicer = new LoopSlicer();
  const lines = header('data dump', instance, now);
  const vrrp = (await sources.vrrp())?.instances ?? [];
  lines.push('', `------< VRRP instances (${vrrp.length}) >------`);
  for (const i of vrrp) {
    const o = i.options;
    lines.push(
      ` VRRP instance = ${i.name}`,
      `   state = ${i.state}`,
      `   interface = ${o.interface}`,
      `   virtual router id = ${o.virtualRouterId}`,
      `   version = ${o.version}`,
      `   priority = ${o.priority} (effective ${i.priority})`,
      `   advert interval = ${o.advertIntMs} ms`,
      `   preempt = ${o.nopreempt ? 'no' : `yes, delay ${o.preemptDelayMs} ms`}`,
      `   master = ${i.masterAddress ?? '(unknown)'}`,
      `   unicast peers = ${o.unicastPeers.length === 0 ? '(multicast)' : o.unicastPeers.join(' ')}`,
      `   virtual addresses (${o.vips.length}):`,
      ...o.vips.map((v) => `     ${v.address}/${v.prefixLength} dev ${v.dev}`),
      `   excluded virtual addresses (${o.excludedVips.length}):`,
      ...o.excludedVips.map((v) => `     ${v.address}/${v.prefixLength} dev ${v.dev}`),
    );
  }
  const servers = sources.virtualServers();
  lines.push('', `------< Virtual servers (${servers.length}) >------`);
  for (const vs of servers) {
    await slicer.maybeYield();
    lines.push(
      ` virtual server = ${vs.name}`,
      `   quorum = ${vs.state.quorumUp ? 'up' : 'down'}${vs.suspended ? ', suspended (ha_suspend)' : ''}`,
      ...vs.state.reals.map(
        (r) => `   real server = ${hostPort(r.address, r.port)} weight ${r.weight}`,
      ),
    );
    if (vs.state.sorry !== undefined) {
      const s = vs.state.sorry;
      lines.push(`   sorry server = ${hostPort(s.address, s.port)} weight ${s.weight}`);
    }
  }
  const plane = sources.dataPlane();
  const applied = plane?.services() ?? [];
  lines.push(
    '',
    `------< Data plane (${plane?.kind ?? 'not running'}), services applied (${applied.length}) >------`,
  );
  for (const { service, reals } of applied) {
    await slicer.maybeYield();
    const persistence =
      service.persistence === undefined ? '' : ` persistent ${service.persistence.timeoutS}`;
    lines.push(` ${serviceName(service)} ${service.scheduler}${persistence}`);
    for (const r of reals) {
      lines.push(`   -> ${hostPort(r.address, r.port)} ${r.forwarding} weight ${r.weight}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** VRRP counters and data-plane packet, byte and connection counters (in loop slices too). */
export async function statsDump(
  sources: MetricsSources,
  instance: string,
  now = new Date(),
): Promise<string> {
  const slicer = new LoopSlicer();
  const lines = header('statistics', instance, now);
  const vrrp = (await sources.vrrp())?.instances ?? [];
  lines.push('', `------< VRRP instances (${vrrp.length}) >------`);
  for (const i of vrrp) {
    const c = i.counters;
    const dropped = Object.entries(c.dropped).filter(([, n]) => n > 0);
    lines.push(
      ` VRRP instance = ${i.name}`,
      `   adverts received = ${c.advertsReceived}`,
      `   adverts sent = ${c.advertsSent}`,
      `   priority 0 received = ${c.priorityZeroReceived}`,
      `   priority 0 sent = ${c.priorityZeroSent}`,
      `   became master = ${c.becameMaster}`,
      `   released master = ${c.releasedMaster}`,
      `   adverts dropped = ${dropped.length === 0 ? 0 : dropped.map(([r, n]) => `${r} ${n}`).join(', ')}`,
    );
  }
  const counters = await sources.dataPlane()?.counters();
  lines.push('', '------< Data plane >------');
  if (counters === undefined) {
    lines.push(' not running');
  } else {
    for (const [reason, v] of Object.entries(counters.global)) {
      lines.push(` ${reason}: ${v.packets} packets, ${v.bytes} bytes`);
    }
    for (const s of counters.services) {
      await slicer.maybeYield();
      lines.push(
        ` ${serviceName(s.service)}: ${s.newConnections} connections, ${s.packets} packets, ${s.bytes} bytes`,
      );
      for (const r of s.reals) {
        lines.push(
          `   -> ${hostPort(r.address, r.port)}: ${r.newConnections} connections, ${r.packets} packets, ${r.bytes} bytes`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `text` to `path` whole or not at all: a new file (mode 0600, never
 * through an existing name or symlink) renamed over the old dump.
 */
export async function writeDump(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await unlink(temporary).catch(() => undefined);
  const file = await open(temporary, 'wx', 0o600);
  try {
    await file.writeFile(text);
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

/**
 * Writes dumps when signals ask, one per file at a time: a signal that
 * arrives while that dump is being written is answered by it (logged and
 * ignored), so a burst of signals costs one dump, not one each racing for
 * the same temporary file.
 */
export class DumpWriter {
  private readonly writing = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** Starts writing `what` to `path`; false when that dump is already being written. */
  request(what: string, path: string, text: () => Promise<string>): boolean {
    if (this.writing.has(path)) {
      this.logger.info({ file: path }, 'already writing %s; signal ignored', what);
      return false;
    }
    this.writing.add(path);
    void (async () => writeDump(path, await text()))()
      .then(
        () => this.logger.info({ file: path }, 'wrote %s', what),
        (err: unknown) => this.logger.error({ err, file: path }, 'Cannot write %s', what),
      )
      .finally(() => this.writing.delete(path));
    return true;
  }

  /** True while the dump to `path` is being written. */
  busy(path: string): boolean {
    return this.writing.has(path);
  }
}
