/**
 * ipvsadm's text layouts, column for column (ipvsadm 1.31's -Ln, --stats,
 * --rate, -Lnc and --timeout), rendered from a StatusReport so scripts that
 * parse ipvsadm output read lbctl's the same way. Services sort as ipvsadm
 * sorts them (mark, family, protocol, address, port), reals by address then port.
 */
import { isIPv6 } from 'node:net';
import { addressToBytes } from '../net/address.js';
import type {
  ConnectionRow,
  RealStatus,
  ServiceStatus,
  StatusReport,
  TrafficRates,
  TrafficStats,
} from './status-report.js';

/** ipvsadm prints the kernel's IPVS version; lbctl's layout is that of 1.2.1. */
const VERSION_LINE = 'IP Virtual Server version 1.2.1';

const FORWARD_NAMES = { dr: 'Route', nat: 'Masq', tun: 'Tunnel', local: 'Local' } as const;

export type ListFormat = 'list' | 'stats' | 'rate';

/** ipvsadm -Ln (list), -Ln --stats, -Ln --rate. */
export function formatServices(report: StatusReport, format: ListFormat = 'list'): string {
  const lines: string[] = [`${VERSION_LINE} (size=${report.connectionTableSize})`];
  if (format === 'list') {
    lines.push('Prot LocalAddress:Port Scheduler Flags');
    lines.push('  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn');
  } else {
    const titles =
      format === 'stats'
        ? ['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes']
        : ['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'];
    lines.push(
      `${pad('Prot LocalAddress:Port', 33)} ${titles.map((t) => t.padStart(8)).join(' ')}`,
    );
    lines.push('  -> RemoteAddress:Port');
  }
  for (const service of sortServices(report.services)) {
    lines.push(serviceLine(service, format));
    for (const real of sortReals(service.reals)) lines.push(realLine(service, real, format));
  }
  return `${lines.join('\n')}\n`;
}

/** ipvsadm --timeout. */
export function formatTimeouts(report: StatusReport): string {
  const t = report.timeouts;
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpFin} ${t.udp}\n`;
}

/** ipvsadm -Lnc: the header, then one line per connection. */
export function connectionsHeader(): string {
  return `IPVS connection entries\npro expire ${pad('state', 11)} ${pad('source', 18)} ${pad('virtual', 18)} destination\n`;
}

export function connectionLine(row: ConnectionRow): string {
  const minutes = Math.floor(row.expiresS / 60);
  const seconds = row.expiresS % 60;
  const expire = `${two(minutes)}:${two(seconds)}`;
  return `${pad(row.protocol.toUpperCase(), 3)} ${pad(expire, 6)} ${pad(row.state, 11)} ${pad(row.source, 18)} ${pad(row.virtual, 18)} ${row.destination}\n`;
}

function serviceLine(service: ServiceStatus, format: ListFormat): string {
  const v6 = isIPv6(service.vip);
  let name =
    service.fwmark !== undefined
      ? `FWM  ${service.fwmark}${v6 ? ' IPv6' : ''}`
      : `${service.protocol.toUpperCase()}  ${endpoint(service.vip, service.port)}`;
  // ipvsadm cuts IPv4 service names at 33 characters (they never reach it).
  if (!v6) name = name.slice(0, 33);
  if (format === 'stats') return pad(name, 33) + statsColumns(service.stats);
  if (format === 'rate') return pad(name, 33) + rateColumns(service.rates, false);
  let line = `${name} ${service.scheduler}`;
  const p = service.persistence;
  if (p !== undefined) {
    line += ` persistent ${p.timeoutS}`;
    const full = v6 ? 128 : 32;
    const prefix = p.prefixLength ?? full;
    if (prefix !== full) line += ` mask ${v6 ? String(prefix) : netmask(prefix)}`;
  }
  return line;
}

function realLine(service: ServiceStatus, real: RealStatus, format: ListFormat): string {
  let name = endpoint(real.address, real.port);
  if (!isIPv6(service.vip)) name = name.slice(0, 28);
  const head = `  -> ${pad(name, 28)}`;
  if (format === 'stats') return head + statsColumns(real.stats);
  if (format === 'rate') return head + rateColumns(real.rates, true);
  return `${head} ${pad(FORWARD_NAMES[real.forwarding], 7)} ${pad(String(real.weight), 6)} ${pad(String(real.activeConnections), 10)} ${pad(String(real.inactiveConnections), 10)}`;
}

function statsColumns(s: TrafficStats): string {
  return [s.connections, s.inPackets, s.outPackets, s.inBytes, s.outBytes]
    .map(largeNumber)
    .join('');
}

/** A real's first three rates are plain "%8u" columns in ipvsadm, the byte rates large numbers. */
function rateColumns(r: TrafficRates | undefined, real: boolean): string {
  const v = r ?? {
    connectionsPerS: 0,
    inPacketsPerS: 0,
    outPacketsPerS: 0,
    inBytesPerS: 0,
    outBytesPerS: 0,
  };
  const counts = [v.connectionsPerS, v.inPacketsPerS, v.outPacketsPerS].map(Math.round);
  const bytes = [v.inBytesPerS, v.outBytesPerS].map(Math.round);
  if (real)
    return ` ${counts.map((n) => String(n).padStart(8)).join(' ')}${bytes.map(largeNumber).join('')}`;
  return [...counts, ...bytes].map(largeNumber).join('');
}

/** ipvsadm's print_largenum: 9 columns, with K/M/G/T above 100 million. */
export function largeNumber(n: number): string {
  if (n < 100_000_000) return String(n).padStart(9);
  if (n < 1_000_000_000) return `${String(Math.floor(n / 1_000)).padStart(8)}K`;
  if (n < 100_000_000_000) return `${String(Math.floor(n / 1_000_000)).padStart(8)}M`;
  if (n < 100_000_000_000_000) return `${String(Math.floor(n / 1_000_000_000)).padStart(8)}G`;
  return `${String(Math.floor(n / 1_000_000_000_000)).padStart(8)}T`;
}

function sortServices(services: readonly ServiceStatus[]): ServiceStatus[] {
  const protocolRank = { tcp: 6, udp: 17, sctp: 132 } as const;
  return [...services].sort(
    (a, b) =>
      (a.fwmark ?? 0) - (b.fwmark ?? 0) ||
      Number(isIPv6(a.vip)) - Number(isIPv6(b.vip)) ||
      protocolRank[a.protocol] - protocolRank[b.protocol] ||
      Buffer.compare(addressToBytes(a.vip), addressToBytes(b.vip)) ||
      a.port - b.port,
  );
}

function sortReals(reals: readonly RealStatus[]): RealStatus[] {
  return [...reals].sort(
    (a, b) =>
      Number(isIPv6(a.address)) - Number(isIPv6(b.address)) ||
      Buffer.compare(addressToBytes(a.address), addressToBytes(b.address)) ||
      a.port - b.port,
  );
}

function endpoint(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

function netmask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join('.');
}

function pad(text: string, width: number): string {
  return text.padEnd(width);
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}
