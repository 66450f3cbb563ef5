import type { ChildProcess } from 'node:child_process';
import { type InstanceConf, keepalivedConf } from '../test/vrrp/support/conf.js';
import { KeepalivedDaemon, LbctlDaemon, type VrrpDaemon } from '../test/vrrp/support/daemons.js';
import { LAB_INTERFACE, Lab } from '../test/vrrp/support/lab.js';
import type { BenchResult } from './result.js';
import { median } from './stats.js';
import { startTcpdump } from './tcpdump.js';

/**
 * vrrp_failover: how long a client waits for the VIP to move. The clock
 * starts when the master is killed (SIGKILL of the process that owns the VIP)
 * or stopped (SIGTERM: it sends priority 0) and stops at the first gratuitous
 * ARP for the VIP from the backup's MAC, as the client's tcpdump timestamps
 * it. Both daemons add the VIP before announcing it, so this is "owns the VIP
 * and has told the segment". lbctl and keepalived run in turn on the same
 * lab with identical settings; medians of a few rounds, ratio lbctl/keepalived.
 */

interface Setting {
  readonly name: string;
  readonly instance: Partial<InstanceConf>;
  readonly rounds: number;
}

const SETTINGS: readonly Setting[] = [
  { name: 'v3_100ms', instance: { version: 3, advertInt: 0.1 }, rounds: 3 },
  { name: 'v2_1s', instance: { version: 2, advertInt: 1 }, rounds: 2 },
];
const EVENTS = ['kill', 'stop'] as const;
type FailoverEvent = (typeof EVENTS)[number];
type Kind = 'lbctl' | 'keepalived';

const VIP = '10.81.0.100';
const VRID = 81;

export async function vrrpFailover(): Promise<BenchResult[]> {
  const lab = await Lab.create('lbb-', { client: '10.81.0.10', d1: '10.81.0.1', d2: '10.81.0.2' });
  const arp = await ArpWatch.start(lab.host('client').namespace);
  const results: BenchResult[] = [];
  try {
    for (const setting of SETTINGS) {
      for (const event of EVENTS) {
        const samples: Record<Kind, number[]> = { lbctl: [], keepalived: [] };
        for (let round = 0; round < setting.rounds; round++) {
          for (const kind of ['lbctl', 'keepalived'] as const) {
            samples[kind].push(await failoverOnce(lab, arp, kind, setting, event, round));
          }
        }
        const lbctlMs = median(samples.lbctl);
        const keepalivedMs = median(samples.keepalived);
        results.push({
          name: `vrrp_failover_${setting.name}_${event}`,
          lbctlMs,
          keepalivedMs,
          ratio: lbctlMs / keepalivedMs,
          rounds: setting.rounds,
        });
      }
    }
  } finally {
    arp.close();
    await lab.close();
  }
  return results;
}

/** One failover: master (priority 255, master at once) on d1, backup on d2; returns ms. */
async function failoverOnce(
  lab: Lab,
  arp: ArpWatch,
  kind: Kind,
  setting: Setting,
  event: FailoverEvent,
  round: number,
): Promise<number> {
  const config = (priority: number) =>
    keepalivedConf(`bench-${priority}`, [
      { name: 'VI_BENCH', vrid: VRID, priority, vips: [`${VIP}/24`], ...setting.instance },
    ]);
  const daemon = (role: string) => {
    const dir = `${lab.dir}/${kind}-${setting.name}-${event}-${round}-${role}`;
    const ns = lab.host(role).namespace;
    return kind === 'lbctl' ? new LbctlDaemon(role, ns, dir) : new KeepalivedDaemon(role, ns, dir);
  };
  const master: VrrpDaemon = daemon('d1');
  const backup: VrrpDaemon = daemon('d2');
  const advertMs = (setting.instance.advertInt ?? 1) * 1000;
  try {
    master.start(config(255));
    backup.start(config(100));
    await master.waitForState('VI_BENCH', 'MASTER', 10_000);
    await backup.waitForState('VI_BENCH', 'BACKUP', 10_000);
    // Let the backup hear adverts so it times the master, not its own startup.
    await sleep(Math.max(300, advertMs));
    // Act right after an advert so every sample sees the full master-down interval.
    await arp.nextAdvert(lab.host('d1').address, Date.now(), 5000);
    const backupMac = lab.host('d2').mac;
    const startedAt = Date.now();
    const announced = arp.next(VIP, backupMac, startedAt, 15_000);
    await master.stop(event === 'kill' ? 'SIGKILL' : 'SIGTERM');
    return (await announced) - startedAt;
  } finally {
    // SIGKILL is quicker than keepalived's graceful shutdown; both daemons remove
    // the leftover VIPs when the next round starts them again.
    await master.stop('SIGKILL');
    await backup.stop('SIGKILL');
  }
}

interface Waiter {
  /** Matches a parsed capture line: kind, source (MAC for ARP, IP for VRRP), announced VIP. */
  readonly match: (kind: 'arp' | 'vrrp', source: string, vip: string | undefined) => boolean;
  readonly since: number;
  readonly resolve: (at: number) => void;
}

/** tcpdump on the client's interface: gratuitous ARPs and VRRP adverts with their capture time. */
class ArpWatch {
  private readonly waiters = new Set<Waiter>();

  private child: ChildProcess | undefined;

  static async start(namespace: string): Promise<ArpWatch> {
    const watch = new ArpWatch();
    watch.child = await startTcpdump(
      namespace,
      LAB_INTERFACE,
      ['-e'],
      'arp or ip proto 112',
      (line) => watch.onLine(line),
    );
    return watch;
  }

  /** Capture time (ms since the epoch) of the first gratuitous ARP for `vip` from `mac` after `since`. */
  next(vip: string, mac: string, since: number, timeoutMs: number): Promise<number> {
    return this.wait(
      `a gratuitous ARP for ${vip} from ${mac}`,
      (kind, source, announced) => kind === 'arp' && source === mac && announced === vip,
      since,
      timeoutMs,
    );
  }

  /** Capture time of the next VRRP advert from `address` after `since`. */
  nextAdvert(address: string, since: number, timeoutMs: number): Promise<number> {
    return this.wait(
      `a VRRP advert from ${address}`,
      (kind, source) => kind === 'vrrp' && source === address,
      since,
      timeoutMs,
    );
  }

  private wait(
    what: string,
    match: Waiter['match'],
    since: number,
    timeoutMs: number,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        since,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.child?.kill('SIGTERM');
  }

  // ARP: "<time> <src mac> > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60:
  //       Request who-has <vip> (ff:ff:ff:ff:ff:ff) tell <vip>, length 46"
  // VRRP: "<time> <src mac> > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 54:
  //       <src ip> > 224.0.0.18: VRRPv2, Advertisement, vrid 81, prio 255, ..."
  private onLine(line: string): void {
    const arp = /^(\d+\.\d+) ([0-9a-f:]{17}) > .*Request who-has (\S+) .*tell (\S+),/.exec(line);
    const vrrp = /^(\d+\.\d+) .*: (\S+) > \S+: VRRPv\d, Advertisement/.exec(line);
    let parsed: { at: number; kind: 'arp' | 'vrrp'; source: string; vip?: string } | undefined;
    if (arp !== null && arp[3] === arp[4]) {
      parsed = { at: Number(arp[1]) * 1000, kind: 'arp', source: arp[2] ?? '', vip: arp[3] ?? '' };
    } else if (vrrp !== null) {
      parsed = { at: Number(vrrp[1]) * 1000, kind: 'vrrp', source: vrrp[2] ?? '' };
    }
    if (parsed === undefined) return;
    for (const waiter of [...this.waiters]) {
      if (parsed.at >= waiter.since && waiter.match(parsed.kind, parsed.source, parsed.vip)) {
        this.waiters.delete(waiter);
        waiter.resolve(parsed.at);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
