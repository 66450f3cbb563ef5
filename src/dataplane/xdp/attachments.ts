/**
 * The lb program's XDP links, one per interface. With a pin directory each
 * link is pinned there (link_<ifname>), so forwarding survives a restart,
 * and a restart takes a pinned link over (replacing its program) instead of
 * attaching again.
 */
import { existsSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BpfLink, type BpfMap, type BpfProgram, type XdpAttachMode } from '../../bpf/index.js';
import type { Logger } from '../../log.js';
import { u32Key } from './entries.js';

export class XdpAttachments {
  private readonly links: BpfLink[] = [];
  private readonly modes: { ifname: string; mode: string }[] = [];

  constructor(
    private readonly program: BpfProgram,
    /** lb_tx_ports: every attached interface may be a redirect target. */
    private readonly txPorts: BpfMap,
    private readonly pinDir: string | undefined,
    private readonly mode: XdpAttachMode,
    private readonly log: Logger,
  ) {}

  attach(ifname: string): void {
    const pinPath = this.pinDir === undefined ? undefined : join(this.pinDir, `link_${ifname}`);
    if (pinPath !== undefined && existsSync(pinPath)) {
      const pinned = BpfLink.openPinned(pinPath);
      try {
        pinned.update(this.program);
        this.links.push(pinned);
        this.modes.push({ ifname, mode: 'pinned' });
        this.log.info({ ifname }, 'took over pinned XDP link');
        return;
      } catch (err) {
        // The interface went away with the old attachment: start afresh.
        pinned.close();
        unlinkSync(pinPath);
        this.log.warn({ ifname, err }, 'pinned XDP link unusable; attaching anew');
      }
    }
    const link = this.program.attachXdp(ifname, { mode: this.mode });
    if (pinPath !== undefined) link.pin(pinPath);
    this.links.push(link);
    this.modes.push({ ifname, mode: link.mode ?? 'unknown' });
    const { ifindex = 0 } = link.info();
    this.txPorts.update(u32Key(ifindex), u32Key(ifindex));
    this.log.info({ ifname, mode: link.mode }, 'XDP attached');
  }

  /** The XDP mode each attachment got (native, generic, or pinned when taken over). */
  linkModes(): Record<string, string> {
    return Object.fromEntries(this.modes.map(({ ifname, mode }) => [ifname, mode]));
  }

  /** Detaches from every interface (an interface already gone took its link along). */
  detachAll(): void {
    for (const link of this.links) {
      try {
        link.detach();
      } catch {
        // Already gone with its interface.
      }
    }
  }

  /** Closes the handles; pinned links keep the program attached. */
  close(): void {
    for (const link of this.links) link.close();
  }
}

/** How many of the links pinned in `dir` are still attached to an interface. */
export function attachedPinnedLinks(dir: string): number {
  let attached = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('link_')) continue;
    try {
      const link = BpfLink.openPinned(join(dir, name));
      // A link whose interface (or namespace) is gone reports no ifindex.
      if ((link.info().ifindex ?? 0) !== 0) attached++;
      link.close();
    } catch {
      // Not a link (or unlinked meanwhile): attaches nothing.
    }
  }
  return attached;
}

/** Removes an instance's pin directory (maps and links). */
export function removePins(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
  rmdirSync(dir);
}
