import { unlinkSync } from 'node:fs';
import type { NativeBpfLink, NativeLinkInfo } from '../native/addon.js';
import { native } from './addon.js';
import { BpfError } from './errors.js';
import type { BpfProgram } from './program.js';

export type XdpMode = 'native' | 'generic';
export type BpfLinkInfo = Readonly<NativeLinkInfo>;

/**
 * A bpf_link: an attachment owned by one file descriptor. Closing an unpinned
 * link detaches the program; a pinned link keeps it attached until detach()
 * or unpin() + close, so forwarding survives a daemon restart.
 */
export class BpfLink {
  private pinnedAt: string | undefined;

  constructor(
    private readonly handle: NativeBpfLink,
    /** XDP mode the attachment got (undefined for a link opened from a pin). */
    readonly mode?: XdpMode,
    pinnedAt?: string,
  ) {
    this.pinnedAt = pinnedAt;
  }

  static openPinned(path: string): BpfLink {
    return new BpfLink(new (native().BpfLink)(native().objGet(path)), undefined, path);
  }

  get pinPath(): string | undefined {
    return this.pinnedAt;
  }

  info(): BpfLinkInfo {
    return this.handle.info();
  }

  pin(path: string): void {
    this.handle.pin(path);
    this.pinnedAt = path;
  }

  unpin(): void {
    if (this.pinnedAt === undefined) {
      throw new BpfError('Cannot unpin link: it is not pinned', 'BPF_INVALID_ARGUMENT', 0, 'unpin');
    }
    unlinkSync(this.pinnedAt);
    this.pinnedAt = undefined;
  }

  /** Atomically replaces the attached program: no packet sees neither. */
  update(program: BpfProgram): void {
    this.handle.update(program.nativeHandle);
  }

  /** Detaches now, even if pinned (the pin then refers to a defunct link). */
  detach(): void {
    this.handle.detach();
  }

  /** Closes the descriptor; idempotent. */
  close(): void {
    this.handle.close();
  }
}
