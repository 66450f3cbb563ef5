/**
 * The lb program's XDP links, one per interface. With a pin directory each
 * link is pinned there (link_<ifname>), so forwarding survives a restart,
 * and a restart takes a pinned link over (replacing its program) instead of
 * attaching again.
 */
import { existsSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BpfLink, type BpfMap, type BpfProgram, type XdpAttachMode } from '../../bpf/index.js';
import type { Logger } from '../../log.js';
import type { SupervisionReport } from '../supervision.js';
import { u32Key } from './entries.js';

interface Attachment {
  readonly ifname: string;
  link: BpfLink;
  mode: string;
  readonly pinPath: string | undefined;
}

export class XdpAttachments {
  private readonly attached: Attachment[] = [];

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
        this.attached.push({ ifname, link: pinned, mode: 'pinned', pinPath });
        this.log.info({ ifname }, 'took over pinned XDP link');
        return;
      } catch (err) {
        // The interface went away with the old attachment: start afresh.
        pinned.close();
        unlinkSync(pinPath);
        this.log.warn({ ifname, err }, 'pinned XDP link unusable; attaching anew');
      }
    }
    const link = this.attachNew(ifname, pinPath);
    this.attached.push({ ifname, link, mode: link.mode ?? 'unknown', pinPath });
    this.log.info({ ifname, mode: link.mode }, 'XDP attached');
  }

  /** The XDP mode each attachment got (native, generic, or pinned when taken over). */
  linkModes(): Record<string, string> {
    return Object.fromEntries(this.attached.map(({ ifname, mode }) => [ifname, mode]));
  }

  /**
   * Checks each attachment and repairs what someone else changed: a link
   * detached (bpftool link detach, the interface deleted and made again) is
   * attached anew; a link running another program gets ours back; a pin
   * unlinked or replaced is pinned again (without it, the next restart could
   * not adopt the link, and a crash would detach XDP). An interface that is
   * gone, or refuses the program, is reported broken. A few syscalls per
   * interface: cheap enough to run every second.
   */
  supervise(): SupervisionReport {
    const restored: string[] = [];
    const unrestored: string[] = [];
    const broken: { interface: string; reason: string }[] = [];
    for (const a of this.attached) {
      let linkId: number;
      try {
        const info = a.link.info();
        if ((info.ifindex ?? 0) === 0) {
          const old = a.link;
          a.link = this.attachNew(a.ifname, a.pinPath, true);
          a.mode = a.link.mode ?? 'unknown';
          old.close();
          restored.push(`XDP link on ${a.ifname} had been detached: attached again`);
          continue;
        }
        if (info.programId !== this.program.info.id) {
          a.link.update(this.program);
          restored.push(`XDP link on ${a.ifname} ran program ${info.programId}: lb_xdp restored`);
        }
        linkId = info.id;
      } catch (err) {
        broken.push({ interface: a.ifname, reason: (err as Error).message });
        continue;
      }
      // A missing pin does not stop forwarding: it is put back, or reported, never "broken".
      if (a.pinPath === undefined || pinnedLinkId(a.pinPath) === linkId) continue;
      try {
        rmSync(a.pinPath, { force: true });
        a.link.pin(a.pinPath);
        restored.push(`pin ${a.pinPath} had been removed or replaced: pinned again`);
      } catch (err) {
        unrestored.push(`pin ${a.pinPath} cannot be restored: ${(err as Error).message}`);
      }
    }
    return { interfaces: this.attached.map((a) => a.ifname), restored, unrestored, broken };
  }

  /** Detaches from every interface (an interface already gone took its link along). */
  detachAll(): void {
    for (const { link } of this.attached) {
      try {
        link.detach();
      } catch {
        // Already gone with its interface.
      }
    }
  }

  /** Closes the handles; pinned links keep the program attached. */
  close(): void {
    for (const { link } of this.attached) link.close();
  }

  /** Attaches the program to `ifname` and pins the link (over a stale pin when `replacePin`). */
  private attachNew(ifname: string, pinPath: string | undefined, replacePin = false): BpfLink {
    const link = this.program.attachXdp(ifname, { mode: this.mode });
    if (pinPath !== undefined) {
      if (replacePin) rmSync(pinPath, { force: true });
      link.pin(pinPath);
    }
    const { ifindex = 0 } = link.info();
    this.txPorts.update(u32Key(ifindex), u32Key(ifindex));
    return link;
  }
}

/** The id of the link pinned at `path`, or undefined when nothing (or not a link) is there. */
function pinnedLinkId(path: string): number | undefined {
  try {
    const link = BpfLink.openPinned(path);
    try {
      return link.info().id;
    } finally {
      link.close();
    }
  } catch {
    return undefined;
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
