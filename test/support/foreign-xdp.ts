import { join } from 'node:path';
import { bpfObjectPath, pinRoot } from '../../src/bpf/index.js';
import type { Lab } from '../../src/lab/lab.js';
import { run } from '../../src/netns/exec.js';

const ATTEMPTS = 5;

/**
 * Detaches lbctl's XDP link on `host`'s eth0 and attaches the baseline program
 * in its place: a program lbctl must not override, so its supervisor marks the
 * data plane broken. The supervisor checks every second and re-attaches a
 * detached link; when its check falls between the two commands the attach
 * finds lbctl's new link ("Can't replace active BPF XDP link"), so the pair is
 * retried against the link then pinned, a bounded number of times.
 */
export async function replaceWithForeignXdp(lab: Lab, host: string): Promise<void> {
  const pinned = join(pinRoot, lab.instance(host), 'link_eth0');
  for (let attempt = 1; ; attempt++) {
    const { stdout } = await run('bpftool', ['-j', 'link', 'show', 'pinned', pinned]);
    const id = String((JSON.parse(stdout) as { id: number }).id);
    try {
      await lab.exec(host, 'sh', [
        '-c',
        `bpftool link detach id ${id} && ip link set dev eth0 xdpdrv obj ${bpfObjectPath('baseline')} sec xdp`,
      ]);
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS || !/replace active BPF XDP link/.test(String(err))) throw err;
    }
  }
}
