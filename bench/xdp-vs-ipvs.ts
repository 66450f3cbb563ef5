/**
 * e2e_xdp_vs_ipvs: the same DR traffic forwarded by kernel IPVS and by lbctl's
 * XDP program, in one run of the test VM (the host kernel has no IPVS): see
 * bench/xdp-vs-ipvs-guest.ts for what runs inside and docs/ipvs.md for the
 * method. Reported: XDP packets/s ÷ IPVS packets/s (`ratio`), the same from
 * the guest's CPU time per packet (`cpuRatio`, what one core does), and the
 * figures behind them: the IPVS phases before and after the XDP one, and the
 * XDP_TX floor (generator, veth and counter alone). Without QEMU the benchmark is skipped, saying why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';
import { runInVm } from '../test/support/vm.js';
import type { BenchResult } from './result.js';

export const GUEST_MARK = 'xdp-vs-ipvs';

export interface Phase {
  readonly packetsPerSecond: number;
  /** Guest CPU time (every context) per frame counted at the reals' side. */
  readonly cpuNsPerPacket: number;
  readonly sent: number;
  readonly received: number;
}

export interface GuestResult {
  readonly kernel: string;
  readonly flows: number;
  /** Before and after the XDP phase. */
  readonly ipvs: readonly Phase[];
  readonly xdp: Phase;
  readonly floor: readonly Phase[];
}

/** Boot, one XDP program load (emulated verifier) and five phases of a few seconds. */
const VM_TIMEOUT_S = 600;
const NAME = 'e2e_xdp_vs_ipvs';

const mean = (phases: readonly Phase[], key: 'packetsPerSecond' | 'cpuNsPerPacket') =>
  phases.reduce((sum, p) => sum + p[key], 0) / phases.length;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** Why the VM cannot run here, or undefined when it can. */
function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    return 'needs root on Linux (namespaces and BPF inside the VM)';
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']);
  if (qemu.status !== 0)
    return 'qemu-system-x86_64 is not installed (bash scripts/setup.sh installs the VM tools; docs/vm.md)';
  if (!existsSync('/bin/busybox')) return 'busybox-static is not installed (bash scripts/setup.sh)';
  // Cached, or downloaded with apt: what run.sh would do first.
  const kernel = spawnSync('bash', [join(packageRoot, 'scripts/vm/kernel.sh'), '6.1'], {
    encoding: 'utf8',
  });
  if (kernel.status !== 0)
    return kernel.stderr.trim().replace(/^vm: /, '') || "Debian's 6.1 kernel is not available";
  return undefined;
}

/** The figures of one guest run, as bench rows. */
export function resultOf(guest: GuestResult): BenchResult {
  const ipvsPps = mean(guest.ipvs, 'packetsPerSecond');
  const ipvsNs = mean(guest.ipvs, 'cpuNsPerPacket');
  const floorNs = mean(guest.floor, 'cpuNsPerPacket');
  const floorPps = mean(guest.floor, 'packetsPerSecond');
  return {
    name: NAME,
    kernel: guest.kernel,
    where: 'vm (tcg, 1 cpu)',
    flows: guest.flows,
    ratio: round2(guest.xdp.packetsPerSecond / ipvsPps),
    cpuRatio: round2(ipvsNs / guest.xdp.cpuNsPerPacket),
    xdpPps: guest.xdp.packetsPerSecond,
    ipvsPps: Math.round(ipvsPps),
    ipvsPpsBefore: guest.ipvs[0]?.packetsPerSecond,
    ipvsPpsAfter: guest.ipvs[1]?.packetsPerSecond,
    floorPps: Math.round(floorPps),
    // Near 1: the XDP figure is the generator's and counter's limit, not lbctl's.
    xdpRatioToFloor: round2(guest.xdp.packetsPerSecond / floorPps),
    xdpCpuNsPerPacket: guest.xdp.cpuNsPerPacket,
    ipvsCpuNsPerPacket: Math.round(ipvsNs),
    floorCpuNsPerPacket: Math.round(floorNs),
    // Sent but not counted at the reals' side (IPVS: dropped before or in the stack).
    xdpLost: guest.xdp.sent - guest.xdp.received,
    ipvsLost: guest.ipvs.reduce((n, p) => n + p.sent - p.received, 0),
    target: 5,
  };
}

export async function xdpVsIpvsBench(): Promise<BenchResult> {
  const missing = missingPrerequisite();
  if (missing !== undefined) {
    process.stderr.write(`${NAME}: skipped: ${missing}\n`);
    return { name: NAME, skipped: missing };
  }
  const run = await runInVm('6.1', ['node', 'dist/bench/xdp-vs-ipvs-guest.js'], VM_TIMEOUT_S);
  const line = new RegExp(`^${GUEST_MARK} (.*)$`, 'm').exec(run.output)?.[1];
  if (line === undefined) {
    // No figure without a measurement: say what the VM said instead.
    const tail = run.output.trim().split('\n').slice(-15).join('\n');
    process.stderr.write(`${NAME}: no result from the VM (status ${run.status}):\n${tail}\n`);
    process.exitCode = 1;
    return {
      name: NAME,
      failed:
        run.release === undefined
          ? 'the VM did not boot'
          : `the VM run failed (status ${run.status})`,
    };
  }
  return resultOf(JSON.parse(line) as GuestResult);
}
