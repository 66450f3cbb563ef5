/**
 * The kernel's tick rate (CONFIG_HZ), which the XDP program needs to turn
 * bpf_jiffies64() into nanoseconds. Read from the kernel configuration the
 * way libbpf finds it: /proc/config.gz, then /boot/config-<release>.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';

const HZ_LINE = /^CONFIG_HZ=(\d+)$/m;

function readConfig(path: string, gzipped: boolean): string | undefined {
  try {
    const raw = readFileSync(path);
    return (gzipped ? gunzipSync(raw) : raw).toString('latin1');
  } catch {
    return undefined;
  }
}

/** CONFIG_HZ of the running kernel, or undefined when no configuration is readable. */
export function kernelHz(
  sources: readonly { path: string; gzipped: boolean }[] = [
    { path: '/proc/config.gz', gzipped: true },
    { path: `/boot/config-${release()}`, gzipped: false },
  ],
): number | undefined {
  for (const { path, gzipped } of sources) {
    const match = readConfig(path, gzipped)?.match(HZ_LINE);
    const hz = match?.[1] === undefined ? Number.NaN : Number(match[1]);
    // A rate that does not divide a second evenly would make the clock drift.
    if (Number.isInteger(hz) && hz > 0 && 1e9 % hz === 0) return hz;
  }
  return undefined;
}
