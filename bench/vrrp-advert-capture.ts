import type { ChildProcess } from 'node:child_process';
import { startTcpdump } from './tcpdump.js';

/**
 * Timestamps of the VRRP adverts seen on one interface of a namespace, as
 * tcpdump (in immediate mode, so libpcap does not batch them) stamps them:
 * what another router on the segment would see of a master's cadence.
 */
export class AdvertCapture {
  private constructor(
    private readonly child: ChildProcess,
    private readonly stampsMs: readonly number[],
  ) {}

  static async start(namespace: string, ifname: string): Promise<AdvertCapture> {
    const stamps: number[] = [];
    const child = await startTcpdump(namespace, ifname, [], 'ip proto 112', (line) => {
      const stamp = /^(\d+\.\d+) .*VRRPv\d, Advertisement/.exec(line)?.[1];
      if (stamp !== undefined) stamps.push(Number(stamp) * 1000);
    });
    return new AdvertCapture(child, stamps);
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
