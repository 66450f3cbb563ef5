import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  connectionLine,
  connectionsHeader,
  formatServices,
  formatTimeouts,
  largeNumber,
} from '../../src/status/ipvsadm-format.js';
import type { RealStatus, ServiceStatus, StatusReport } from '../../src/status/status-report.js';
import { formatVrrp } from '../../src/status/vrrp-format.js';

const zero = { connections: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 };

function real(address: string, port: number, extra: Partial<RealStatus> = {}): RealStatus {
  return {
    address,
    port,
    forwarding: 'dr',
    weight: 1,
    activeConnections: 0,
    inactiveConnections: 0,
    stats: zero,
    ...extra,
  };
}

/** A report with one TCP service 10.0.0.100:80 (rr) and its real 10.0.0.11:80. */
function oneService(extra: Partial<ServiceStatus>, realExtra: Partial<RealStatus>): StatusReport {
  return report([
    {
      protocol: 'tcp',
      vip: '10.0.0.100',
      port: 80,
      scheduler: 'rr',
      stats: zero,
      ...extra,
      reals: [real('10.0.0.11', 80, realExtra)],
    },
  ]);
}

function report(services: ServiceStatus[]): StatusReport {
  return {
    instance: 'default',
    connectionTableSize: 4096,
    timeouts: { tcp: 900, tcpFin: 120, udp: 300 },
    services,
    vrrp: [],
    liveConnections: 0,
  };
}

// Expected lines are written out from ipvsadm.c's printf formats:
// "  -> %-28s %-7s %-6d %-10u %-10u", "%-33s" + "%9llu" x5, "%-3s %-6s %-11s %-18s %-18s %s".
describe('ipvsadm layouts', () => {
  it('prints -Ln with headers, flags and ipvsadm sorting', () => {
    const text = formatServices(
      report([
        {
          protocol: 'udp',
          vip: '10.0.0.100',
          port: 53,
          scheduler: 'sh',
          stats: zero,
          reals: [real('10.0.0.12', 53, { forwarding: 'nat', weight: 2 })],
        },
        {
          protocol: 'tcp',
          vip: '10.0.0.100',
          port: 80,
          scheduler: 'rr',
          persistence: { timeoutS: 50 },
          stats: zero,
          reals: [
            real('10.0.0.12', 80, { activeConnections: 12, inactiveConnections: 3 }),
            real('10.0.0.11', 80),
          ],
        },
        {
          protocol: 'tcp',
          vip: '10.0.0.9',
          port: 443,
          scheduler: 'mh',
          persistence: { timeoutS: 300, prefixLength: 24 },
          stats: zero,
          reals: [real('10.0.0.2', 443, { forwarding: 'tun' })],
        },
        {
          protocol: 'tcp',
          vip: '2001:db8::1',
          port: 80,
          scheduler: 'wrr',
          persistence: { timeoutS: 60, prefixLength: 64 },
          stats: zero,
          reals: [real('2001:db8::11', 80)],
        },
      ]),
    );
    assert.equal(
      text,
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  10.0.0.9:443 mh persistent 300 mask 255.255.255.0',
        '  -> 10.0.0.2:443                 Tunnel  1      0          0         ',
        'TCP  10.0.0.100:80 rr persistent 50',
        '  -> 10.0.0.11:80                 Route   1      0          0         ',
        '  -> 10.0.0.12:80                 Route   1      12         3         ',
        'UDP  10.0.0.100:53 sh',
        '  -> 10.0.0.12:53                 Masq    2      0          0         ',
        'TCP  [2001:db8::1]:80 wrr persistent 60 mask 64',
        '  -> [2001:db8::11]:80            Route   1      0          0         ',
        '',
      ].join('\n'),
    );
  });

  it('prints --stats with large numbers abbreviated as ipvsadm does', () => {
    const stats = {
      connections: 7,
      inPackets: 123456789,
      outPackets: 0,
      inBytes: 98765432100,
      outBytes: 0,
    };
    const text = formatServices(oneService({ stats }, { stats }), 'stats');
    assert.equal(
      text,
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
        '  -> RemoteAddress:Port',
        'TCP  10.0.0.100:80                       7  123456K        0   98765M        0',
        '  -> 10.0.0.11:80                        7  123456K        0   98765M        0',
        '',
      ].join('\n'),
    );
  });

  it("prints --rate with the real lines in ipvsadm's mixed widths", () => {
    const rates = {
      connectionsPerS: 5,
      inPacketsPerS: 40.4,
      outPacketsPerS: 0,
      inBytesPerS: 3000,
      outBytesPerS: 0,
    };
    const text = formatServices(oneService({ rates }, { rates }), 'rate');
    assert.equal(
      text.split('\n').slice(1).join('\n'),
      [
        'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS',
        '  -> RemoteAddress:Port',
        'TCP  10.0.0.100:80                       5       40        0     3000        0',
        '  -> 10.0.0.11:80                        5       40        0     3000        0',
        '',
      ].join('\n'),
    );
  });

  it('prints -Lnc and --timeout', () => {
    assert.equal(
      connectionsHeader() +
        connectionLine({
          protocol: 'tcp',
          expiresS: 899,
          state: 'ESTABLISHED',
          source: '10.0.0.10:40001',
          virtual: '10.0.0.100:80',
          destination: '10.0.0.11:80',
        }),
      'IPVS connection entries\n' +
        'pro expire state       source             virtual            destination\n' +
        'TCP 14:59  ESTABLISHED 10.0.0.10:40001    10.0.0.100:80      10.0.0.11:80\n',
    );
    assert.equal(formatTimeouts(report([])), 'Timeout (tcp tcpfin udp): 900 120 300\n');
  });

  it('abbreviates like print_largenum at each boundary', () => {
    assert.equal(largeNumber(99_999_999), ' 99999999');
    assert.equal(largeNumber(100_000_000), '  100000K');
    assert.equal(largeNumber(1_000_000_000), '    1000M');
    assert.equal(largeNumber(100_000_000_000), '     100G');
    assert.equal(largeNumber(100_000_000_000_000), '     100T');
  });

  it('prints the VRRP instances with effective and configured priority', () => {
    assert.equal(
      formatVrrp([
        {
          name: 'VI_1',
          interface: 'eth0',
          vrid: 51,
          state: 'MASTER',
          effectivePriority: 90,
          configuredPriority: 100,
          vips: ['10.0.0.100', '10.0.0.101'],
          lastTransition: { at: '2026-01-01T00:00:00.000Z', from: 'BACKUP', reason: 'master down' },
        },
        {
          name: 'VI_2',
          interface: 'eth1',
          vrid: 52,
          state: 'BACKUP',
          effectivePriority: 100,
          configuredPriority: 100,
          vips: ['10.0.1.1'],
        },
      ]),
      'VRRP Instances\n' +
        'Name Interface VRID State  Priority VIPs                  Last transition\n' +
        'VI_1 eth0      51   MASTER 90 (100) 10.0.0.100,10.0.0.101 2026-01-01T00:00:00.000Z from BACKUP (master down)\n' +
        'VI_2 eth1      52   BACKUP 100      10.0.1.1              -\n',
    );
  });
});

describe('fwmark services in ipvsadm -Ln', () => {
  it('are named FWM N (IPv6 says so) and sort after address services, by mark', () => {
    const mark = (fwmark: number, vip: string): ServiceStatus => ({
      protocol: 'tcp',
      vip,
      port: 0,
      fwmark,
      scheduler: 'rr',
      stats: zero,
      reals: [real('10.0.0.11', 0)],
    });
    const text = formatServices(
      report([
        mark(9, '0.0.0.0'),
        mark(7, '::'),
        {
          protocol: 'tcp',
          vip: '10.0.0.100',
          port: 80,
          scheduler: 'wlc',
          stats: zero,
          reals: [],
        },
      ]),
    );
    assert.deepEqual(
      text
        .split('\n')
        .filter((l) => !l.startsWith(' '))
        .slice(2, 5),
      ['TCP  10.0.0.100:80 wlc', 'FWM  7 IPv6 rr', 'FWM  9 rr'],
    );
  });
});
