import { parseConfigText } from '../src/config/load.js';
import type { NextHop, ServiceSpec } from '../src/dataplane/dataplane.js';
import { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../src/netns/netns.js';
import type { DesiredService } from '../src/reconcile/desired-services.js';
import type { NextHopResolver } from '../src/reconcile/next-hop-resolver.js';
import { Reconciler } from '../src/reconcile/reconciler.js';
import { systemClock } from '../src/time/clock.js';
import { LoopSlicer } from '../src/time/loop-slice.js';
import { LoopMaxima, watchedCall, watchLoop } from './loop-watch.js';
import type { BenchResult } from './result.js';
import { BENCH_VRRP_INSTANCE, BenchVrrpMaster } from './vrrp-master.js';

export const SERVICES = Number(process.env.LBCTL_BENCH_SERVICES ?? 1000);
const REALS = 32;

/** Every real is on-link through lo: next hops cost nothing, the data plane is what is measured. */
export const loopbackHops: NextHopResolver = {
  resolve: (address: string): Promise<NextHop> => {
    const last = Number(address.split('.').pop());
    return Promise.resolve({
      interface: 'lo',
      mac: `02:00:00:00:00:${(last & 0xff).toString(16).padStart(2, '0')}`,
    });
  },
  forget: () => undefined,
};

/**
 * Reals shared: service s has 172.16.r.(s % 250 + 1), so every 250th service has
 * the same reals (and Maglev services share placements, see MaglevFills), as a
 * virtual_server_group range does. Unique: every service has reals of its own.
 */
export type RealsLayout = 'shared' | 'unique';

function realAddress(layout: RealsLayout, s: number, r: number): string {
  return layout === 'shared'
    ? `172.16.${r}.${(s % 250) + 1}`
    : `172.${16 + (s >> 8)}.${s & 0xff}.${r + 1}`;
}

/** The large site: SERVICES services × 32 DR reals (other benches apply it too). */
export function largeSite(
  layout: RealsLayout,
  weightOf: (service: number, real: number) => number = (_, r) => 1 + (r % 4),
): DesiredService[] {
  return Array.from({ length: SERVICES }, (_, s): DesiredService => {
    const spec: ServiceSpec = {
      vip: `10.${100 + (s >> 8)}.${s & 0xff}.1`,
      port: 80,
      protocol: 'tcp',
      // Alternate: wrr rings and weighted Maglev tables.
      scheduler: s % 2 === 0 ? 'wrr' : 'mh',
    };
    return {
      spec,
      reals: Array.from({ length: REALS }, (_, r) => ({
        address: realAddress(layout, s, r),
        port: 80,
        weight: weightOf(s, r),
        forwarding: 'dr' as const,
      })),
    };
  });
}

/**
 * reconcile_large: applying 1,000 services x 32 reals (half wrr, half Maglev)
 * to a loaded XDP data plane (not attached), then a pass with nothing to do,
 * then a pass where one real of every service is drained (weight 0). Run
 * twice: reals repeating every 250 services, and reals unique per service.
 * Meanwhile a VRRP v3 master with 0.1 s adverts runs on a thread of its own
 * in a namespace, as in lbctl up: `vrrpLoopMaxDelayMs` is how late its
 * timers ran during the passes, `maxAdvertGapMs` the longest silence between
 * its adverts as captured on its segment.
 */
export async function reconcileLarge(): Promise<BenchResult[]> {
  return [await reconcileLargeWith('shared'), await reconcileLargeWith('unique')];
}

/** The three passes' inputs, built before the timed part (32,000 objects each, unsliced). */
function passes(layout: RealsLayout): DesiredService[][] {
  return [
    largeSite(layout, (_, r) => 1 + (r % 4)),
    largeSite(layout, (_, r) => 1 + (r % 4)),
    largeSite(layout, (_, r) => (r === 0 ? 0 : 1 + (r % 4))),
  ];
}

async function reconcileLargeWith(layout: RealsLayout): Promise<BenchResult> {
  const [apply, noop, drain] = passes(layout) as [
    DesiredService[],
    DesiredService[],
    DesiredService[],
  ];
  const plane = await XdpDataPlane.open({
    instance: 'bench-reconcile',
    pin: false,
    maxServices: SERVICES,
    maxReals: SERVICES * REALS * 2,
    connections: 1024,
    persistenceEntries: 1024,
  });
  const ns = uniqueName('lbrcl');
  let vrrp: BenchVrrpMaster | undefined;
  try {
    await createNamespace(ns);
    await createVethPair(
      { namespace: ns, name: 'eth0', address: '172.16.255.254/16' },
      { namespace: ns, name: 'eth1' },
    );
    const { config } = parseConfigText(
      `global_defs {\n    lbctl_instance_name ${ns}\n}\n${BENCH_VRRP_INSTANCE}\n`,
      'keepalived.conf',
    );
    vrrp = await BenchVrrpMaster.start(ns, config);
    const master = vrrp;
    const reconciler = new Reconciler({
      dataPlane: plane,
      nextHops: loopbackHops,
      clock: systemClock,
    });
    // The longest the main thread's event loop went without running a timer during a
    // pass: what health checks, status and metrics waited (VRRP has its own thread).
    // Two measures: the gaps between the ticks of a 1 ms interval, and
    // monitorEventLoopDelay's maximum.
    const loop = new LoopMaxima();
    const cpuMs: number[] = [];
    const mainThreadCpuMs: number[] = [];
    // Controls for the same watch on a shared machine, where some gaps are the
    // scheduler's (waiting for a core), not the apply's: two seconds of busy
    // work cut into 4 ms slices (what a perfectly sliced apply would show), and
    // an idle second.
    const busy = watchLoop();
    const slicer = new LoopSlicer();
    for (const until = performance.now() + 2000; performance.now() < until; ) {
      const sliceEnd = performance.now() + 4;
      while (performance.now() < sliceEnd) {
        // spin: stands for 4 ms of apply work
      }
      await slicer.nextSlice();
    }
    const control = await busy();
    const slicedBusyMaxTimerGapMs = control.maxGap;
    const slicedBusyMaxRunMs = control.maxRun;
    // The idle second after the busy one: under vrrp_rt_priority the busy control
    // uses up the kernel's realtime budget (sched_rt_runtime_us, 950 ms a second)
    // and is throttled; the passes then start in a fresh period.
    const idle = watchLoop();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idleMaxTimerGapMs = (await idle()).maxGap;
    let vrrpLoopMaxDelayMs = 0;
    let maxAdvertGapMs = 0;
    const steadyFrom = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const steadyMaxAdvertGapMs = master.capture.maxGapMs(steadyFrom, Date.now());
    const timed = async (services: DesiredService[]) => {
      // Besides the main thread, the CPU counts the thread pool (Maglev fills,
      // ring writes) and V8's helpers (GC).
      await master.loopDelay();
      const from = Date.now();
      const pass = await watchedCall(() => reconciler.set('bench', services));
      const to = Date.now();
      vrrpLoopMaxDelayMs = Math.max(vrrpLoopMaxDelayMs, (await master.loopDelay()).maxMs);
      // Let the advert that ends the last gap arrive.
      await new Promise((resolve) => setTimeout(resolve, 300));
      maxAdvertGapMs = Math.max(maxAdvertGapMs, master.capture.maxGapMs(from, to));
      cpuMs.push(pass.cpuMs);
      mainThreadCpuMs.push(pass.mainThreadCpuMs);
      loop.add(pass.loop);
      const report = reconciler.report();
      if (report.failed > 0)
        throw new Error(`reconcile_large: ${report.failed} services failed to apply`);
      return pass.wallMs;
    };
    const applyAllMs = await timed(apply);
    const noopPassMs = await timed(noop);
    const drainOnePerServiceMs = await timed(drain);
    // Memory V8 counts outside its heap once the passes are done: mostly Maglev
    // placements (64 KiB each) that services keep.
    const externalAfterMb = process.memoryUsage().external / 2 ** 20;
    await reconciler.close();
    return {
      name: layout === 'shared' ? 'reconcile_large' : 'reconcile_large_unique_reals',
      ...(await master.scheduling()),
      services: SERVICES,
      realsPerService: REALS,
      applyAllMs,
      msPerService: applyAllMs / SERVICES,
      noopPassMs,
      drainOnePerServiceMs,
      applyAllCpuMs: cpuMs[0],
      applyAllMainThreadCpuMs: mainThreadCpuMs[0],
      drainOnePerServiceCpuMs: cpuMs[2],
      drainOnePerServiceMainThreadCpuMs: mainThreadCpuMs[2],
      externalAfterMb,
      vrrpLoopMaxDelayMs,
      maxAdvertGapMs,
      steadyMaxAdvertGapMs,
      maxTimerGapMs: loop.maxGap,
      maxLoopDelayMs: loop.maxDelay,
      maxRunBetweenTicksMs: loop.maxRun,
      // Where the long gaps come from: how many a GC pause fell in, and the longest pause.
      timerGapsOver10Ms: loop.longGaps,
      timerGapsOver10MsWithGc: loop.longGapsWithGc,
      timerGapsOver10MsOffCpu: loop.longGapsOffCpu,
      maxGcPauseMs: loop.maxGcPauseMs,
      idleMaxTimerGapMs,
      slicedBusyMaxTimerGapMs,
      slicedBusyMaxRunMs,
    };
  } finally {
    await vrrp?.close();
    await deleteNamespace(ns);
    await plane.destroy();
  }
}
