import { closeSync, openSync } from 'node:fs';
import { BpfObject, bpfObjectPath } from '../bpf/index.js';
import { LbctlError } from '../errors.js';
import { addressToBytes } from '../net/address.js';
import { macToBytes } from '../net/mac.js';
import { runIn } from '../netns/exec.js';

/**
 * A traffic generator inside the kernel: BPF_PROG_TEST_RUN with live frames
 * (Linux 5.18+, like xdp-trafficgen) runs bpf/trafficgen.bpf.c on a template
 * UDP frame, which rewrites it into the next of `flows` flows and transmits
 * it out of an interface of a network namespace. Millions of frames per
 * second on one core, with no user-space packet path in the way, for
 * end-to-end forwarding benchmarks (bench/e2e.ts).
 */
export interface LiveFrameGeneratorOptions {
  /** Network namespace (under /var/run/netns) holding `ifname`. */
  readonly namespace: string;
  /** Interface the frames leave by (a veth end whose peer is the device under test). */
  readonly ifname: string;
  /** Distinct flows to cycle through: source address base + (n >> 14), port 1024 + (n & 0x3fff). */
  readonly flows: number;
  /** First source address (IPv4; default 10.200.0.0). */
  readonly sourceBase?: string;
  readonly frame: UdpFrameSpec;
}

export interface UdpFrameSpec {
  readonly sourceMac: string;
  readonly destinationMac: string;
  readonly destination: string;
  readonly destinationPort: number;
  /** Whole frame length without FCS (default and minimum 60: the Ethernet minimum). */
  readonly length?: number;
}

/** Most flows the source address scheme keeps inside one /16. */
export const MAX_FLOWS = 1 << 30;
/** Frames per test run: one run may last only so long before the next is asked for. */
const FRAMES_PER_RUN = 1 << 20;

export class LiveFrameGenerator {
  private constructor(
    private readonly object: BpfObject,
    private readonly options: LiveFrameGeneratorOptions,
    private readonly ifindex: number,
    private readonly data: Buffer,
  ) {}

  static async open(options: LiveFrameGeneratorOptions): Promise<LiveFrameGenerator> {
    if (!Number.isInteger(options.flows) || options.flows < 1 || options.flows > MAX_FLOWS)
      throw new LbctlError(
        'LAB_INVALID_OPTION',
        `Cannot generate frames: flows must be an integer from 1 to ${MAX_FLOWS}`,
      );
    const ifindex = await interfaceIndex(options.namespace, options.ifname);
    const object = BpfObject.open(bpfObjectPath('trafficgen'));
    try {
      object.setRodata('tg_flows', options.flows);
      object.setRodata(
        'tg_source_base',
        addressToBytes(options.sourceBase ?? '10.200.0.0').readUInt32BE(0),
      );
      await object.load();
    } catch (err) {
      object.close();
      throw err;
    }
    return new LiveFrameGenerator(object, options, ifindex, udpFrame(options.frame));
  }

  /**
   * Sends `count` frames, in runs of at most a million on the thread pool,
   * stopping early once `maxSeconds` have passed. Returns how many were
   * generated and how long that took.
   */
  async send(
    count: number,
    options: { readonly maxSeconds?: number; readonly batchSize?: number } = {},
  ): Promise<{ readonly sent: number; readonly seconds: number }> {
    const program = this.object.program('tg_xdp');
    const netns = openSync(`/var/run/netns/${this.options.namespace}`, 'r');
    const start = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
    let sent = 0;
    try {
      while (sent < count && elapsed() < (options.maxSeconds ?? Number.POSITIVE_INFINITY)) {
        const repeat = Math.min(FRAMES_PER_RUN, count - sent);
        await program.sendLiveFrames({
          data: this.data,
          ifindex: this.ifindex,
          repeat,
          netnsFd: netns,
          ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        });
        sent += repeat;
      }
      return { sent, seconds: elapsed() };
    } finally {
      closeSync(netns);
      program.close();
    }
  }

  close(): void {
    this.object.close();
  }
}

/** An Ethernet + IPv4 + UDP frame with a zero payload (source address and port are the generator's). */
export function udpFrame(spec: UdpFrameSpec): Buffer {
  const length = Math.max(60, spec.length ?? 60);
  const frame = Buffer.alloc(length);
  frame.set(macToBytes(spec.destinationMac), 0);
  frame.set(macToBytes(spec.sourceMac), 6);
  frame.writeUInt16BE(0x0800, 12);
  const ip = 14;
  frame.writeUInt8(0x45, ip);
  frame.writeUInt16BE(length - ip, ip + 2);
  frame.writeUInt8(64, ip + 8);
  frame.writeUInt8(17, ip + 9);
  frame.set(addressToBytes(spec.destination), ip + 16);
  const udp = ip + 20;
  frame.writeUInt16BE(1024, udp);
  frame.writeUInt16BE(spec.destinationPort, udp + 2);
  frame.writeUInt16BE(length - udp, udp + 4);
  return frame;
}

async function interfaceIndex(namespace: string, ifname: string): Promise<number> {
  const { stdout } = await runIn(namespace, 'ip', ['-j', 'link', 'show', 'dev', ifname]);
  const index = (JSON.parse(stdout) as { ifindex?: number }[])[0]?.ifindex;
  if (index === undefined)
    throw new LbctlError(
      'NO_SUCH_INTERFACE',
      `Cannot generate frames: no interface ${ifname} in ${namespace}`,
    );
  return index;
}
