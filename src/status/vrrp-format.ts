/**
 * The VRRP part of `lbctl status`: one line per instance, columns sized to
 * their content (keepalived has no equivalent listing; its SIGUSR1 data dump
 * is free text).
 */
import type { VrrpInstanceStatus } from './status-report.js';

const HEADERS = ['Name', 'Interface', 'VRID', 'State', 'Priority', 'VIPs', 'Last transition'];

export function formatVrrp(instances: readonly VrrpInstanceStatus[]): string {
  if (instances.length === 0) return '';
  const rows = instances.map((i) => [
    i.name,
    i.interface,
    String(i.vrid),
    i.state,
    i.effectivePriority === i.configuredPriority
      ? String(i.effectivePriority)
      : `${i.effectivePriority} (${i.configuredPriority})`,
    i.vips.join(','),
    i.lastTransition === undefined
      ? '-'
      : `${i.lastTransition.at} from ${i.lastTransition.from} (${i.lastTransition.reason})`,
  ]);
  const widths = HEADERS.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!))).join(' ');
  return `VRRP Instances\n${[HEADERS, ...rows].map(line).join('\n')}\n`;
}
