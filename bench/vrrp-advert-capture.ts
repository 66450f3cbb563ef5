import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nsenterArgs } from '../src/netns/exec.js';

/**
 * Timestamps of the VRRP adverts seen on one interface of a namespace, as
 * tcpdump (in immediate mode, so libpcap does not batch them) stamps them:
 * what another router on the segment would see of a master's cadence.
 */
export class AdvertCapture {
  private readonly stampsMs: number[] = [];

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout ?? process.stdin }).on('line', (line) => {
      const stamp = /^(\d+\.\d+) .*VRRPv\d, Advertisement/.exec(line)?.[1];
      if (stamp !== undefined) this.stampsMs.push(Number(stamp) * 1000);
    });
  }

  static async start(namespace: string, ifname: string): Promise<AdvertCapture> {
    const child = spawn(
      'nsenter',
      [
        ...nsenterArgs(namespace),
        'tcpdump',
        '--immediate-mode',
        '-l',
        '-n',
        '-tt',
        '-i',
        ifname,
        'ip proto 112',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const capture = new AdvertCapture(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 5000);
      createInterface({ input: child.stderr ?? process.stdin }).on('line', (line) => {
        if (line.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => reject(new Error('tcpdump exited')));
    });
    return capture;
  }

  /** Adverts seen between two wall-clock times (ms since the epoch). */
  count(fromMs: number, toMs: number): number {
    return this.stampsMs.filter((t) => t >= fromMs && t <= toMs).length;
  }

  /**
   * The longest silence between adverts over [fromMs, toMs], counting the
   * stretch from the last advert before it and to the first one after it.
   */
  maxGapMs(fromMs: number, toMs: number): number {
    const before = this.stampsMs.filter((t) => t < fromMs).at(-1) ?? fromMs;
    const after = this.stampsMs.find((t) => t > toMs) ?? toMs;
    const inside = this.stampsMs.filter((t) => t >= fromMs && t <= toMs);
    let last = before;
    let max = 0;
    for (const t of [...inside, after]) {
      max = Math.max(max, t - last);
      last = t;
    }
    return max;
  }

  /** The longest silence between two adverts both seen within [fromMs, toMs]. */
  maxGapWithin(fromMs: number, toMs: number): number {
    const inside = this.stampsMs.filter((t) => t >= fromMs && t <= toMs);
    let max = 0;
    for (let i = 1; i < inside.length; i++) max = Math.max(max, inside[i]! - inside[i - 1]!);
    return max;
  }

  close(): void {
    this.child.kill();
  }
}
