import {
  checkProgramLoad,
  DEFAULT_VARIANT,
  type ProgramLoad,
} from '../src/dataplane/xdp/load-check.js';
import { runInVm, VM_KERNELS } from '../test/support/vm.js';
import type { BenchResult } from './result.js';

/** One VM boot, one load: well within this even when the machine is busy. */
const VM_TIMEOUT_S = 600;

function row(name: string, load: ProgramLoad, where: string): BenchResult {
  if (!load.accepted) return { name, kernel: load.kernel, where, refused: load.error };
  return {
    name,
    kernel: load.kernel,
    where,
    insns: load.insns,
    verifiedInsns: load.verifiedInsns,
    loadMs: load.loadMs,
  };
}

/**
 * Program size and verifier effort of lb_xdp (the defaults `lbctl up` uses)
 * per kernel: the host's, then Debian 12's 6.1 and 6.12 in the test VM.
 * Load times in the VM are emulated (QEMU TCG): compare them with each
 * other, not with the host's.
 */
export async function verifierBench(): Promise<BenchResult[]> {
  const results = [row('verifier_host', await checkProgramLoad(DEFAULT_VARIANT), 'host')];
  for (const kernel of VM_KERNELS) {
    const run = await runInVm(kernel, ['node', 'dist/bench/verifier-probe.js'], VM_TIMEOUT_S);
    const line = /^verifier-probe (.*)$/m.exec(run.output)?.[1];
    if (line === undefined) {
      results.push({
        name: `verifier_${kernel}`,
        kernel: run.release ?? kernel,
        where: 'vm',
        refused: 'the VM gave no result',
      });
      continue;
    }
    results.push(row(`verifier_${kernel}`, JSON.parse(line) as ProgramLoad, 'vm (tcg)'));
  }
  return results;
}
