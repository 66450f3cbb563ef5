/**
 * Run inside the test VM by the e2e_xdp_vs_ipvs benchmark (bench/xdp-vs-ipvs.ts):
 * the same DR traffic through the same director interface, forwarded once by
 * kernel IPVS and once by lbctl's XDP program, counted where the reals are.
 *
 * The e2e bench's two namespaces (bench/e2e.ts): the live-frame generator
 * sends UDP frames to the VIP out of gen0; dir0 is the director's interface;
 * the four DR reals' MAC is gen0's, whose XDP counter counts and drops what
 * the director forwards. What differs is only what runs on dir0:
 *
 * - IPVS: an XDP program that counts and passes (a veth accepts frames sent
 *   with XDP_TX, as live frames are, only while its peer runs XDP), so every
 *   frame goes up the director's stack: IPVS (service VIP:53/udp, DR, mh)
 *   sends it to a real through the routing table and a permanent neighbour.
 * - XDP: lbctl's data plane (XdpDataPlane) with the same service and reals.
 * - floor: a program that only returns XDP_TX (the generator, the veth and the
 *   counter: the part of each figure common to both).
 *
 * Phases: IPVS, floor, XDP, floor, IPVS (load drift shows as the difference
 * between the bracketing pairs). Each sends for PHASE_SECONDS after every flow
 * has been seen once. The VM has one CPU, so the guest's busy time
 * (/proc/stat: all but idle and iowait, softirqs included) per frame counted
 * is the cost of the whole path on one core. Prints one line:
 * `xdp-vs-ipvs {json}`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XDP } from '../src/bpf/index.js';
import {
  counterMapName,
  counterProgramName,
  loadCounter,
  readCounters,
} from '../src/counter/counter.js';
import { IpvsDataPlane } from '../src/dataplane/ipvs/ipvs-dataplane.js';
import { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import { LiveFrameGenerator } from '../src/lab/live-frame-generator.js';
import { withinNamespace } from '../src/netns/enter.js';
import { runIn } from '../src/netns/exec.js';
import { uniqueName } from '../src/netns/netns.js';
import {
  createLab,
  DR_REALS,
  DR_SERVICE,
  destroyLab,
  type Lab,
  MAC,
  received,
  settle,
  VIP,
} from './e2e.js';
import { GUEST_MARK, type GuestResult, type Phase } from './xdp-vs-ipvs.js';

const FLOWS = 4096;
const PHASE_SECONDS = 5;
/** Frames per test run: short enough that a phase ends close to PHASE_SECONDS under emulation. */
const CHUNK = 20_000;

/** Nanoseconds the guest's CPUs were busy (not idle, not waiting for I/O), from /proc/stat. */
function busyNs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const ticks = fields.map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  // USER_HZ is 100 on Linux/x86.
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1e7
  );
}

async function phase(lab: Lab, generator: LiveFrameGenerator): Promise<Phase> {
  await generator.send(FLOWS * 2, { maxSeconds: 60 });
  await settle();
  const before = received(lab);
  const cpuBefore = busyNs();
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
  let sent = 0;
  while (elapsed() < PHASE_SECONDS) sent += (await generator.send(CHUNK)).sent;
  const seconds = elapsed();
  await settle();
  const got = received(lab) - before;
  const cpu = busyNs() - cpuBefore;
  return {
    packetsPerSecond: Math.round(got / seconds),
    cpuNsPerPacket: got === 0 ? Number.NaN : Math.round(cpu / got),
    sent,
    received: got,
  };
}

/** Runs `measure` with a counter program returning `verdict` on dir0. */
async function withDirectorProgram<T>(
  lab: Lab,
  verdict: number,
  measure: () => Promise<T>,
): Promise<T> {
  const program = await loadCounter({ verdict });
  try {
    const link = await withinNamespace(lab.dir, () =>
      program.program(counterProgramName).attachXdp('dir0', { mode: 'native' }),
    );
    try {
      const result = await measure();
      if (verdict === XDP.PASS && readCounters(program.map(counterMapName)).ipv4.packets === 0n)
        throw new Error('no frame reached the director');
      return result;
    } finally {
      link.close();
    }
  } finally {
    program.close();
  }
}

/** What a DR director on IPVS needs besides the service: the VIP, the reals' route and neighbours. */
async function prepareDirector(lab: Lab): Promise<void> {
  const ip = (...args: string[]) => runIn(lab.dir, 'ip', args);
  await ip('addr', 'add', `${VIP}/32`, 'dev', 'dir0');
  await ip('addr', 'add', '10.202.0.254/24', 'dev', 'dir0');
  await ip('route', 'add', '10.200.0.0/16', 'dev', 'dir0');
  for (const real of DR_REALS)
    await ip(
      'neigh',
      'replace',
      real.address,
      'lladdr',
      MAC.gen,
      'dev',
      'dir0',
      'nud',
      'permanent',
    );
  await runIn(lab.dir, 'sysctl', [
    '-qw',
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.dir0.rp_filter=0',
  ]);
}

async function main(): Promise<GuestResult> {
  const lab = await createLab();
  const runDir = mkdtempSync(join(tmpdir(), 'lbctl-xdp-vs-ipvs-'));
  try {
    await prepareDirector(lab);
    const ipvs = await withinNamespace(lab.dir, () =>
      IpvsDataPlane.open({ instance: uniqueName('xvi'), runDir }),
    );
    const generator = await LiveFrameGenerator.open({
      namespace: lab.gen,
      ifname: 'gen0',
      flows: FLOWS,
      frame: { sourceMac: MAC.gen, destinationMac: MAC.dir, destination: VIP, destinationPort: 53 },
    });
    try {
      await ipvs.setService(DR_SERVICE, DR_REALS);
      const ipvsFirst = await withDirectorProgram(lab, XDP.PASS, () => phase(lab, generator));
      const floorFirst = await withDirectorProgram(lab, XDP.TX, () => phase(lab, generator));
      const xdpPlane = await withinNamespace(lab.dir, () =>
        XdpDataPlane.open({
          instance: uniqueName('xvx'),
          pin: false,
          interfaces: ['dir0'],
          attachMode: 'native',
          maxServices: 4,
          maxReals: 16,
          connections: 1 << 16,
        }),
      );
      let xdp: Phase;
      try {
        await xdpPlane.setService(DR_SERVICE, DR_REALS);
        xdp = await phase(lab, generator);
      } finally {
        await xdpPlane.destroy();
      }
      const floorSecond = await withDirectorProgram(lab, XDP.TX, () => phase(lab, generator));
      const ipvsSecond = await withDirectorProgram(lab, XDP.PASS, () => phase(lab, generator));
      return {
        kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
        flows: FLOWS,
        ipvs: [ipvsFirst, ipvsSecond],
        xdp,
        floor: [floorFirst, floorSecond],
      };
    } finally {
      generator.close();
      await ipvs.destroy();
    }
  } finally {
    await destroyLab(lab);
    rmSync(runDir, { recursive: true, force: true });
  }
}

process.stdout.write(`${GUEST_MARK} ${JSON.stringify(await main())}\n`);
