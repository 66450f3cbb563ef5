/**
 * Data-plane microbenchmarks through BPF_PROG_TEST_RUN. With `repeat` the
 * kernel runs the program N times on one buffer and times the loop, so the
 * ratio to the baseline program (one per-CPU counter increment) compares the
 * work per packet on this machine.
 *
 * A repeated run reuses the packet as the previous iteration left it, so each
 * case is built so that iteration N+1 meets the same state as iteration N:
 * DR rewrites only MACs; NAT translates to a real whose address and port equal
 * the VIP's (every rewrite and checksum update still happens); a TCP timeout
 * of 0 makes every SYN find its connection expired, so it is scheduled and
 * its entry written again (the new-flow path: service lookup, scheduler,
 * connection insert). dr_untracked_mh sends only ACKs of a flow the
 * director never saw open (ECMP moved it here): forwarded by the mh hash,
 * never tracked, so every iteration takes that path. TUN
 * grows the packet, so it is timed one run at a time (median), against a
 * baseline timed the same way.
 */
import { pathToFileURL } from 'node:url';
import { BpfObject, type BpfProgram, bpfObjectPath } from '../src/bpf/index.js';
import * as abi from '../src/dataplane/abi.js';
import type { RealSpec } from '../src/dataplane/dataplane.js';
import { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import { frame, TCP_ACK, TCP_SYN } from '../test/dataplane/support/packet.js';
import { median } from './stats.js';

/** A type alias (not an interface) so it fits bench/result.ts's indexed BenchResult. */
export type DataplaneBenchResult = {
  name: string;
  nsPerPacket: number;
  ratioToBaseline?: number;
};

const REPEAT = 1_000_000;
const ROUNDS = 5;
const SINGLE_RUNS = 20_000;
const VIP = '10.0.0.1';

/** Best of several repeated runs: the least disturbed measurement of the same work. */
async function repeated(program: BpfProgram, data: Buffer): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) {
    const { durationNs } = await program.testRun({ data, repeat: REPEAT });
    best = Math.min(best, durationNs);
  }
  return best;
}

/** Median of single runs, for programs that change the packet's shape. */
async function single(program: BpfProgram, data: Buffer): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < SINGLE_RUNS; i++) samples.push((await program.testRun({ data })).durationNs);
  return median(samples);
}

/** Another build of lb.bpf.o to time (ablations: the same program with one part removed). */
const OBJECT = process.env.LBCTL_BENCH_LB_OBJECT;

async function plane(forwarding: RealSpec['forwarding']): Promise<XdpDataPlane> {
  const p = await XdpDataPlane.open({
    ...(OBJECT !== undefined ? { objectPath: OBJECT } : {}),
    instance: 'bench',
    pin: false,
    maxServices: 4,
    maxReals: 16,
    connections: 65536,
    tunnel: { sourceV4: '198.18.0.1' },
  });
  const reals: RealSpec[] =
    forwarding === 'nat'
      ? [
          {
            address: VIP,
            port: 80,
            weight: 1,
            forwarding,
            via: { interface: 'lo', mac: '02:00:00:00:01:01' },
          },
        ]
      : ['10.0.1.1', '10.0.1.2', '10.0.1.3'].map((address, i) => ({
          address,
          port: 0,
          weight: 1,
          forwarding,
          via: { interface: 'lo', mac: `02:00:00:00:01:0${i + 1}` },
        }));
  await p.setService({ vip: VIP, port: 80, protocol: 'tcp', scheduler: 'mh' }, reals);
  return p;
}

/** Every connection entry counts as expired: each packet takes the new-flow path. */
function expireEveryFlow(p: XdpDataPlane): void {
  const key = Buffer.alloc(4);
  const config = abi.config.decode(p.map('config').lookup(key)!);
  p.map('config').update(key, abi.config.encode({ ...config, tcp_timeout_ns: 0n }));
}

async function withBaseline<T>(fn: (program: BpfProgram) => Promise<T>): Promise<T> {
  const obj = BpfObject.open(bpfObjectPath('baseline'));
  try {
    await obj.load();
    const program = obj.program('baseline_xdp');
    try {
      return await fn(program);
    } finally {
      program.close();
    }
  } finally {
    obj.close();
  }
}

export async function dataplaneBench(): Promise<DataplaneBenchResult[]> {
  const flow = { src: '203.0.113.1', dst: VIP, proto: 'tcp', sport: 40000, dport: 80 } as const;
  // A SYN opens the flow; established flows are then measured with ACKs, new flows with SYNs.
  const syn = frame({ ...flow, tcpFlags: TCP_SYN });
  const ack = frame({ ...flow, tcpFlags: TCP_ACK });
  const [baseline, baselineSingle] = await withBaseline(async (program) => [
    await repeated(program, ack),
    await single(program, ack),
  ]);
  const ratio = (ns: number, base: number) => Math.round((ns / base) * 100) / 100;
  const results: DataplaneBenchResult[] = [{ name: 'baseline', nsPerPacket: baseline }];

  const cases: {
    name: string;
    forwarding: RealSpec['forwarding'];
    newFlows?: true;
    once?: true;
    /** No SYN first: the ACK of a flow another director opened, forwarded by the mh hash. */
    untracked?: true;
  }[] = [
    { name: 'dr_established', forwarding: 'dr' },
    { name: 'dr_new_flow', forwarding: 'dr', newFlows: true },
    { name: 'dr_untracked_mh', forwarding: 'dr', untracked: true },
    { name: 'nat_established', forwarding: 'nat' },
    { name: 'tun_established', forwarding: 'tun', once: true },
  ];
  for (const c of cases) {
    const p = await plane(c.forwarding);
    try {
      const first = await p.program.testRun({ data: c.untracked ? ack : syn });
      if (first.verdictName !== 'XDP_TX')
        throw new Error(`${c.name}: first packet got ${first.verdictName}`);
      if (c.newFlows) expireEveryFlow(p);
      const data = c.newFlows ? syn : ack;
      const ns = c.once ? await single(p.program, data) : await repeated(p.program, data);
      results.push({
        name: c.name,
        nsPerPacket: ns,
        ratioToBaseline: ratio(ns, c.once ? baselineSingle : baseline),
      });
    } finally {
      await p.destroy();
    }
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(await dataplaneBench(), null, 2)}\n`);
}
