/**
 * End-to-end forwarding with real frames. Two namespaces joined by one veth
 * pair: the generator's end (`gen0`, with an XDP counter that drops what
 * comes back) and the director's (`dir0`). The live-frames generator
 * (src/lab/live-frame-generator.ts) sends UDP frames to a VIP out of gen0;
 * on dir0 the program under test sends them back with XDP_TX, and the
 * counter on gen0 counts what arrives: received frames per second is the
 * figure. The floor is a program that only counts and returns XDP_TX; then
 * lbctl's DR program, attached natively with a service whose four reals sit
 * behind gen0, for 1 to 1 M flows (each flow is sent once before timing, so
 * timing sees established flows). Reported: Mpps and the ratio to the floor
 * (targets: >= 0.85 at 1 flow, >= 0.6 at 1 M flows). Needs root and Linux 5.18+.
 *
 * Every frame's whole path (generator, veth, the program under test, the
 * counter) runs on the sending thread, inside its BPF_PROG_TEST_RUN call, so
 * that thread's CPU time per frame received is the cost of the path without
 * the time other work on a loaded machine takes from it: `cpuNsPerPacket` and
 * `cpuRatioToFloor` (floor ns / this ns) are reported beside the Mpps figures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { BpfLink, BpfObject } from '../src/bpf/index.js';
import { XDP } from '../src/bpf/index.js';
import {
  counterMapName,
  counterProgramName,
  loadCounter,
  readCounters,
} from '../src/counter/counter.js';
import type { RealSpec, ServiceSpec } from '../src/dataplane/dataplane.js';
import { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import { LiveFrameGenerator } from '../src/lab/live-frame-generator.js';
import { withinNamespace } from '../src/netns/enter.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../src/netns/netns.js';

export type E2eBenchResult = {
  name: string;
  flows?: number;
  mpps: number;
  ratioToFloor?: number;
  /** CPU time of this process's threads per frame received (schedstat). */
  cpuNsPerPacket: number;
  /** The floors' mean cpuNsPerPacket divided by this one. */
  cpuRatioToFloor?: number;
  sent: number;
  received: number;
  /** Flows lbctl scheduled while timed (0 when every timed frame met an established flow). */
  newFlowsTimed?: number;
  /** Frames lbctl forwarded while timed. */
  forwardedTimed?: number;
};

const FLOWS = [1, 16, 256, 4096, 65_536, 1_048_576];
/** Frames per timed point, and the most seconds one point may take. */
const FRAMES = 4_000_000;
const MAX_SECONDS = 10;
export const VIP = '10.201.0.1';
export const MAC = { gen: '02:00:00:e2:e0:01', dir: '02:00:00:e2:e0:02' };

/** The service the director forwards: the generator's frames go to VIP:53/udp. */
export const DR_SERVICE: ServiceSpec = { vip: VIP, port: 53, protocol: 'udp', scheduler: 'mh' };
/** Four DR reals behind gen0 (their frames reach gen0's counter). */
export const DR_REALS: RealSpec[] = [1, 2, 3, 4].map((i) => ({
  address: `10.202.0.${i}`,
  port: 53,
  weight: 1,
  forwarding: 'dr',
  via: { interface: 'dir0', mac: MAC.gen },
}));

export interface Lab {
  readonly gen: string;
  readonly dir: string;
  readonly counter: BpfObject;
  readonly counterLink: BpfLink;
}

export async function createLab(): Promise<Lab> {
  const gen = uniqueName('e2eg');
  const dir = uniqueName('e2ed');
  await createNamespace(gen);
  try {
    await createNamespace(dir);
    await createVethPair(
      { namespace: gen, name: 'gen0', mac: MAC.gen },
      { namespace: dir, name: 'dir0', mac: MAC.dir },
    );
    // What the director sends back is counted and dropped on gen0; XDP there
    // is also what lets a veth peer receive XDP_TX frames.
    const counter = await loadCounter({ verdict: XDP.DROP });
    const counterLink = await withinNamespace(gen, () =>
      counter.program(counterProgramName).attachXdp('gen0', { mode: 'native' }),
    );
    return { gen, dir, counter, counterLink };
  } catch (err) {
    await deleteNamespace(dir);
    await deleteNamespace(gen);
    throw err;
  }
}

export async function destroyLab(lab: Lab): Promise<void> {
  lab.counterLink.close();
  lab.counter.close();
  await deleteNamespace(lab.dir);
  await deleteNamespace(lab.gen);
}

/** Nanoseconds every thread of this process has run on a CPU (schedstat's first field, summed). */
function processRunNs(): number {
  let total = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      total += Number(readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read: its time is gone either way.
    }
  }
  return total;
}

export function received(lab: Lab): number {
  return Number(readCounters(lab.counter.map(counterMapName)).ipv4.packets);
}

/** Sends `frames` frames over `flows` flows; Mpps as counted on the generator's side. */
async function measure(
  lab: Lab,
  flows: number,
  warmUp: boolean,
  timed: (phase: 'start' | 'end') => Promise<void> = async () => {},
): Promise<{ mpps: number; cpuNsPerPacket: number; sent: number; received: number }> {
  const generator = await LiveFrameGenerator.open({
    namespace: lab.gen,
    ifname: 'gen0',
    flows,
    frame: {
      sourceMac: MAC.gen,
      destinationMac: MAC.dir,
      destination: VIP,
      destinationPort: 53,
    },
  });
  try {
    if (warmUp) await generator.send(flows, { maxSeconds: MAX_SECONDS });
    await settle();
    const before = received(lab);
    await timed('start');
    const cpuBefore = processRunNs();
    const { sent, seconds } = await generator.send(Math.max(FRAMES, flows), {
      maxSeconds: MAX_SECONDS,
    });
    const cpu = processRunNs() - cpuBefore;
    await settle();
    await timed('end');
    const got = received(lab) - before;
    return {
      mpps: got / seconds / 1e6,
      cpuNsPerPacket: Math.round(cpu / got),
      sent,
      received: got,
    };
  } finally {
    generator.close();
  }
}

/** Lets frames still queued on the veth arrive before counting. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

async function floor(lab: Lab): Promise<E2eBenchResult> {
  const tx = await loadCounter({ verdict: XDP.TX });
  try {
    const link = await withinNamespace(lab.dir, () =>
      tx.program(counterProgramName).attachXdp('dir0', { mode: 'native' }),
    );
    try {
      return { name: 'e2e_xdp_tx_floor', ...(await measure(lab, 1, false)) };
    } finally {
      link.close();
    }
  } finally {
    tx.close();
  }
}

async function lbctl(lab: Lab, floorMpps: number): Promise<E2eBenchResult[]> {
  const plane = await withinNamespace(lab.dir, () =>
    XdpDataPlane.open({
      instance: uniqueName('e2e'),
      pin: false,
      interfaces: ['dir0'],
      attachMode: 'native',
      maxServices: 4,
      maxReals: 16,
      // Room for a million established flows well below the table's capacity.
      connections: 1 << 22,
    }),
  );
  try {
    await plane.setService(DR_SERVICE, DR_REALS);
    const results: E2eBenchResult[] = [];
    const totals = async () => {
      const c = await plane.counters();
      const reals = c.services.flatMap((s) => s.reals);
      return {
        newFlows: reals.reduce((n, r) => n + r.newConnections, 0),
        forwarded: c.global.forwarded?.packets ?? 0,
      };
    };
    for (const flows of FLOWS) {
      let start = { newFlows: 0, forwarded: 0 };
      let end = start;
      const m = await measure(lab, flows, true, async (phase) => {
        if (phase === 'start') start = await totals();
        else end = await totals();
      });
      results.push({
        name: 'e2e_dr',
        flows,
        ...m,
        newFlowsTimed: end.newFlows - start.newFlows,
        forwardedTimed: end.forwarded - start.forwarded,
        ratioToFloor: Math.round((m.mpps / floorMpps) * 100) / 100,
      });
    }
    return results;
  } finally {
    await plane.destroy();
  }
}

export async function e2eBench(): Promise<E2eBenchResult[]> {
  const lab = await createLab();
  try {
    // The floor before and after the sweep: the ratio is to their mean, so a
    // change in the machine's load during the run shows as their difference.
    const before = await floor(lab);
    const sweep = await lbctl(lab, before.mpps);
    const after = await floor(lab);
    const mean = (before.mpps + after.mpps) / 2;
    const cpuMean = (before.cpuNsPerPacket + after.cpuNsPerPacket) / 2;
    for (const r of sweep) {
      r.ratioToFloor = Math.round((r.mpps / mean) * 100) / 100;
      r.cpuRatioToFloor = Math.round((cpuMean / r.cpuNsPerPacket) * 100) / 100;
    }
    return [before, ...sweep, { ...after, name: 'e2e_xdp_tx_floor_after' }];
  } finally {
    await destroyLab(lab);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await e2eBench()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
