import type { NativeBpfProgram, NativeProgramInfo } from '../native/addon.js';
import { native } from './addon.js';
import { BpfError } from './errors.js';
import { BpfLink, type XdpMode } from './link.js';

export type XdpAttachMode = XdpMode | 'auto';

/** XDP verdicts (enum xdp_action). */
export const XDP = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

const verdictNames = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;

export interface TestRunOptions {
  data: Buffer;
  /** Runs the program this many times (for timing); default 1. */
  repeat?: number;
  /** Room for the output packet; default input length + 512. */
  dataOutSize?: number;
}

export interface TestRunResult {
  verdict: number;
  verdictName: string;
  /** The packet as the program left it. */
  data: Buffer;
  /** Average run time per repetition, in nanoseconds (kernel measured). */
  durationNs: number;
}

/** A loaded BPF program owning one file descriptor. */
export class BpfProgram {
  readonly info: Readonly<NativeProgramInfo>;

  private constructor(private readonly handle: NativeBpfProgram) {
    this.info = Object.freeze(handle.info());
  }

  static fromFd(fd: number): BpfProgram {
    return new BpfProgram(new (native().BpfProgram)(fd));
  }

  static openPinned(path: string): BpfProgram {
    return new BpfProgram(new (native().BpfProgram)(native().objGet(path)));
  }

  get name(): string {
    return this.info.name;
  }

  /** For BpfLink.update only. */
  get nativeHandle(): NativeBpfProgram {
    return this.handle;
  }

  /**
   * Attaches to an interface's XDP hook as a bpf_link. 'auto' tries native
   * (driver) mode first and falls back to generic; the link's `mode` says
   * which it got.
   */
  attachXdp(ifname: string, options: { mode: XdpAttachMode }): BpfLink {
    if (options.mode !== 'auto') {
      return new BpfLink(this.link(ifname, options.mode), options.mode);
    }
    try {
      return new BpfLink(this.link(ifname, 'native'), 'native');
    } catch (err) {
      if (!(err instanceof BpfError) || err.code !== 'XDP_ATTACH_FAILED' || isBusy(err)) throw err;
      return new BpfLink(this.link(ifname, 'generic'), 'generic');
    }
  }

  /** Runs the program on one packet through BPF_PROG_TEST_RUN. */
  async testRun(options: TestRunOptions): Promise<TestRunResult> {
    const result = await this.handle.testRun(
      options.data,
      options.repeat ?? 1,
      options.dataOutSize,
    );
    return { ...result, verdictName: verdictNames[result.verdict] ?? `verdict ${result.verdict}` };
  }

  /**
   * Runs the program `repeat` times on frames made from `data` as if they
   * had arrived on interface `ifindex` (in the network namespace `netnsFd`
   * refers to, else this thread's), really transmitting what it returns
   * XDP_TX or XDP_REDIRECT for (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18+).
   * Runs on the thread pool.
   */
  async sendLiveFrames(options: {
    data: Buffer;
    ifindex: number;
    repeat: number;
    /** Frames per batch in the kernel (default 64, at most 256). */
    batchSize?: number;
    netnsFd?: number;
  }): Promise<void> {
    await this.handle.sendLiveFrames(
      options.data,
      options.ifindex,
      options.repeat,
      options.batchSize ?? 64,
      options.netnsFd,
    );
  }

  pin(path: string): void {
    this.handle.pin(path);
  }

  /** Another handle on the same loaded program, with its own descriptor: closing either leaves the other working. */
  duplicate(): BpfProgram {
    return BpfProgram.fromFd(this.handle.dup());
  }

  close(): void {
    this.handle.close();
  }

  private link(ifname: string, mode: XdpMode) {
    return new (native().BpfLink)(this.handle.attachXdp(ifname, mode));
  }
}

function isBusy(err: BpfError): boolean {
  return err.errno === 16 /* EBUSY */ || err.errno === 17 /* EEXIST */;
}
