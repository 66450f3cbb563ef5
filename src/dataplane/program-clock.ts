/**
 * The XDP program's clock as user space can read it: the program stamps
 * connections with bpf_jiffies64() × (1e9 / HZ), or with the coarse monotonic
 * clock when HZ is unknown. /proc/timer_list prints both the monotonic time
 * ("now at N nsecs") and jiffies, so one read gives the program's "now".
 */
import { readFile } from 'node:fs/promises';
import { LbctlError } from '../errors.js';

const NOW_LINE = /^now at (\d+) nsecs$/m;
const JIFFIES_LINE = /^jiffies: (\d+)$/m;

/** The program's current time in ns, for a kernel with `hz` ticks a second (undefined: unknown). */
export async function programNowNs(
  hz: number | undefined,
  path = '/proc/timer_list',
): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (err) {
    throw new LbctlError(
      'DATAPLANE_CLOCK',
      `Cannot read the kernel's clock from ${path}: ${(err as Error).message}`,
    );
  }
  const match = hz === undefined ? text.match(NOW_LINE) : text.match(JIFFIES_LINE);
  if (match?.[1] === undefined) {
    throw new LbctlError(
      'DATAPLANE_CLOCK',
      `Cannot read the kernel's clock: ${path} has no ${hz === undefined ? '"now at"' : '"jiffies:"'} line`,
    );
  }
  const value = Number(match[1]);
  return hz === undefined ? value : value * (1e9 / hz);
}
