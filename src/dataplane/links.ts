import { execFileSync } from 'node:child_process';
import { LbctlError } from '../errors.js';

/** An interface in the current network namespace. */
export interface LinkInfo {
  readonly name: string;
  readonly ifindex: number;
  readonly mac: string;
}

interface IpLinkJson {
  ifindex?: number;
  ifname?: string;
  address?: string;
}

/*
 * Asks the kernel over netlink (iproute2) rather than reading /sys/class/net,
 * because sysfs shows the namespace it was mounted in, not the caller's.
 */
function ipLinks(args: string[], what: string): IpLinkJson[] {
  let out: string;
  try {
    out = execFileSync('ip', ['-j', 'link', 'show', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new LbctlError(
      'DATAPLANE_NO_SUCH_INTERFACE',
      `Cannot look up ${what}: ${stderr || (err as Error).message}`,
    );
  }
  return JSON.parse(out) as IpLinkJson[];
}

export function linkByName(name: string): LinkInfo {
  const [link] = ipLinks(['dev', name], `interface ${name}`);
  if (link?.ifindex === undefined || link.address === undefined) {
    throw new LbctlError(
      'DATAPLANE_NO_SUCH_INTERFACE',
      `Cannot look up interface ${name}: no such interface`,
    );
  }
  return { name, ifindex: link.ifindex, mac: link.address };
}

export function linkByIndex(ifindex: number): LinkInfo | undefined {
  const link = ipLinks([], 'interfaces').find((l) => l.ifindex === ifindex);
  if (link?.ifname === undefined || link.address === undefined) return undefined;
  return { name: link.ifname, ifindex, mac: link.address };
}
