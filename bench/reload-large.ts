/**
 * reload_large: a virtual-server service running 1,000 virtual servers x 32
 * reals (the 1,000 x 32 configuration, without checkers) reloads a file that
 * changes one weight in every virtual server. Measured: the reload's time,
 * and meanwhile packets through the loaded XDP program (BPF_PROG_TEST_RUN):
 * new flows to random services that were not forwarded ("failed"), and
 * established flows (one per service, created before) that moved to another
 * real. Every virtual server has the same 32 real servers (32,000 data-plane
 * reals, 32 next hops); with LBCTL_BENCH_DISTINCT_REALS=1 each has its own
 * 32 (as many next hops as reals: start time then shows the cost of
 * next-hop lookups). Runs in its own network namespace: a veth with the reals as
 * permanent neighbours, the VIPs routed to it, XDP attached in generic mode.
 * A VRRP v3 master with 0.1 s adverts runs on the same veth, on a thread of
 * its own as in lbctl up: the largest gap between its adverts during the reload,
 * as captured on the peer, is what a backup would have seen (a backup takes
 * over after 3 × 0.1 s + skew), and `vrrpLoopMaxDelayMs` how late that
 * thread's timers ran. `loopMax…` is how long the main thread's event loop
 * went without a timer tick during the reload (see loop-watch.ts): the
 * configuration is loaded in a worker thread as lbctl reload does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { loadConfigOffThread } from '../src/config/load-off-thread.js';
import { systemDataPlanes } from '../src/daemon/data-plane-factory.js';
import { VirtualServerService } from '../src/daemon/virtual-server-service.js';
import { silentLogger } from '../src/log.js';
import { KernelHostNetwork } from '../src/netlink/host-network.js';
import { withinNamespace } from '../src/netns/enter.js';
import { runIn } from '../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../src/netns/netns.js';
import { systemClock } from '../src/time/clock.js';
import { frame } from '../test/dataplane/support/packet.js';
import { watchLoop } from './loop-watch.js';
import type { BenchResult } from './result.js';
import { BENCH_VRRP_INSTANCE, BenchVrrpMaster } from './vrrp-master.js';

const SERVICES = Number(process.env.LBCTL_BENCH_SERVICES ?? 1000);
const REALS = 32;
const XDP_TX = 3;
const XDP_REDIRECT = 4;

const vip = (s: number) => `10.${100 + (s >> 8)}.${s & 0xff}.1`;
const DISTINCT_REALS = process.env.LBCTL_BENCH_DISTINCT_REALS === '1';
/** LBCTL_BENCH_RELOAD_ON_MAIN=1: load on the main thread, as lbctl did before the worker (for comparison). */
const LOAD_ON_MAIN_THREAD = process.env.LBCTL_BENCH_RELOAD_ON_MAIN === '1';
/** Next-hop lookups scale with distinct addresses: one shared pool of 32, or 32 per virtual server. */
const realIndex = (s: number, r: number) => (DISTINCT_REALS ? s * REALS + r : r);
const realAddress = (s: number, r: number) => {
  const i = realIndex(s, r);
  return `172.16.${Math.floor(i / 250)}.${(i % 250) + 1}`;
};
const mac = (i: number) =>
  `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

function configText(instance: string, weightOf: (s: number, r: number) => number): string {
  const blocks: string[] = [
    `global_defs {\n    lbctl_instance_name ${instance}\n    lbctl_data_plane xdp\n    lbctl_xdp_mode generic\n}`,
    BENCH_VRRP_INSTANCE,
  ];
  for (let s = 0; s < SERVICES; s++) {
    const reals: string[] = [];
    for (let r = 0; r < REALS; r++) {
      reals.push(
        `    real_server ${realAddress(s, r)} 80 {\n        weight ${weightOf(s, r)}\n    }`,
      );
    }
    blocks.push(
      `virtual_server ${vip(s)} 80 {\n    lvs_sched ${s % 2 === 0 ? 'wrr' : 'mh'}\n    lvs_method DR\n    protocol TCP\n${reals.join('\n')}\n}`,
    );
  }
  return `${blocks.join('\n')}\n`;
}

export async function reloadLarge(): Promise<BenchResult> {
  const ns = uniqueName('lbrlb');
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-reload-large-'));
  const file = join(dir, 'keepalived.conf');
  await createNamespace(ns);
  let service: VirtualServerService | undefined;
  let vrrp: BenchVrrpMaster | undefined;
  try {
    await createVethPair(
      { namespace: ns, name: 'eth0', address: '172.16.255.254/16' },
      { namespace: ns, name: 'eth1' },
    );
    const neighbours: string[] = [];
    for (let s = 0; s < (DISTINCT_REALS ? SERVICES : 1); s++) {
      for (let r = 0; r < REALS; r++) {
        neighbours.push(
          `neigh replace ${realAddress(s, r)} lladdr ${mac(realIndex(s, r))} dev eth0 nud permanent`,
        );
      }
    }
    neighbours.push('route add 10.96.0.0/11 dev eth0');
    await runIn(ns, 'ip', ['-batch', '-'], { input: `${neighbours.join('\n')}\n` });
    const interfaces = ['lo', 'eth0', 'eth1'];
    const instance = `bench-reload-${process.pid}`;
    writeFileSync(
      file,
      configText(instance, (_s, r) => 1 + (r % 4)),
    );
    const before = loadConfig(file, { existingInterfaces: interfaces }).config;
    // The reloaded file's text, built before the timed part.
    const reloadText = configText(instance, (s, r) => (r === s % REALS ? 5 : 1 + (r % 4)));
    const logger = silentLogger();
    service = new VirtualServerService({
      config: before,
      logger,
      clock: systemClock,
      openHost: () => KernelHostNetwork.open(logger),
      dataPlanes: systemDataPlanes,
    });
    const startStarted = performance.now();
    const running = service;
    await withinNamespace(ns, () => running.start());
    const startMs = performance.now() - startStarted;
    const plane = service.xdp;
    if (plane === undefined) throw new Error('reload_large: the data plane did not open');
    vrrp = await BenchVrrpMaster.start(ns, before);
    const capture = vrrp.capture;
    // A second of steady adverts: the cadence the reload is compared with.
    const steadyFrom = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const steadyMaxAdvertGapMs = capture.maxGapMs(steadyFrom, Date.now());

    const send = async (s: number, sport: number) => {
      const result = await plane.program.testRun({
        data: frame({ src: '198.51.100.7', dst: vip(s), proto: 'tcp', sport, dport: 80 }),
      });
      return {
        tx: result.verdict === XDP_TX || result.verdict === XDP_REDIRECT,
        dstMac: result.data.subarray(0, 6).toString('hex'),
      };
    };
    // One established flow per service, before the reload.
    const established = new Map<number, string>();
    for (let s = 0; s < SERVICES; s++) established.set(s, (await send(s, 20000)).dstMac);

    writeFileSync(file, reloadText);
    let done = false;
    let sent = 0;
    let failed = 0;
    let moved = 0;
    const traffic = (async () => {
      while (!done) {
        const s = Math.floor(Math.random() * SERVICES);
        const fresh = await send(s, 30000 + (sent % 30000));
        const old = await send(s, 20000);
        sent += 2;
        if (!fresh.tx) failed++;
        if (!old.tx) failed++;
        else if (old.dstMac !== established.get(s)) moved++;
      }
    })();
    // A reload as lbctl does it on SIGHUP: read the file (in a worker), plan, apply, on the loop VRRP uses.
    const stopWatch = watchLoop();
    await vrrp.loopDelay();
    const stopLoadWatch = watchLoop();
    const reloadStartedAt = Date.now();
    const after = LOAD_ON_MAIN_THREAD
      ? loadConfig(file, { existingInterfaces: interfaces }).config
      : (await loadConfigOffThread(file, { existingInterfaces: interfaces })).config;
    const planStartedAt = Date.now();
    const loadLoop = await stopLoadWatch();
    const stopPlanWatch = watchLoop();
    const reloadStarted = performance.now();
    const plan = await service.planReload(after);
    const applyStartedAt = Date.now();
    const planLoop = await stopPlanWatch();
    // Host I/O of the reload (interface and neighbour lookups) happens in the namespace, as in lbctl up.
    await withinNamespace(ns, () => plan.apply());
    const reloadMs = performance.now() - reloadStarted;
    const reloadEndedAt = Date.now();
    done = true;
    await traffic;
    const loop = await stopWatch();
    const vrrpLoop = await vrrp.loopDelay();
    // Let the advert that ends the last gap arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return {
      name: 'reload_large',
      ...(await vrrp.scheduling()),
      services: SERVICES,
      realsPerService: REALS,
      distinctReals: DISTINCT_REALS ? SERVICES * REALS : REALS,
      startMs,
      reloadMs,
      packetsDuringReload: sent,
      failedRequests: failed,
      establishedMoved: moved,
      loadedOn: LOAD_ON_MAIN_THREAD ? 'main thread' : 'worker',
      parseMs: planStartedAt - reloadStartedAt,
      planMs: applyStartedAt - planStartedAt,
      applyMs: reloadEndedAt - applyStartedAt,
      advertsDuringReload: capture.count(reloadStartedAt, reloadEndedAt),
      maxAdvertGapMs: capture.maxGapMs(reloadStartedAt, reloadEndedAt),
      loadMaxAdvertGapMs: capture.maxGapMs(reloadStartedAt, planStartedAt),
      planMaxAdvertGapMs: capture.maxGapMs(planStartedAt, applyStartedAt),
      applyMaxAdvertGapMs: capture.maxGapWithin(applyStartedAt, reloadEndedAt),
      steadyMaxAdvertGapMs,
      vrrpLoopMaxDelayMs: vrrpLoop.maxMs,
      vrrpLoopP99DelayMs: vrrpLoop.p99Ms,
      loadLoopMaxDelayMs: loadLoop.maxDelay,
      loadLoopMaxRunMs: loadLoop.maxRun,
      planLoopMaxRunMs: planLoop.maxRun,
      loopMaxDelayMs: loop.maxDelay,
      loopMaxRunMs: loop.maxRun,
      loopMaxGapMs: loop.maxGap,
    };
  } finally {
    await vrrp?.close();
    const running = service;
    if (running !== undefined) await withinNamespace(ns, () => running.close());
    await deleteNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  }
}
