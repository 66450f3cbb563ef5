import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileTimes, runInVm, summaryCount, type VmKernel } from '../support/vm.js';

/**
 * One guest of the VM tier: a Debian 12 kernel, booted under QEMU by
 * scripts/vm/run.sh with this checkout mounted read-only, runs the tests that
 * depend on the kernel: every lb_xdp variant through the verifier, the map
 * operations the addon makes (batch lookups of per-CPU arrays for
 * counters()), the BPF_PROG_TEST_RUN packet fixtures, and DR/NAT/TUN
 * forwarding between network namespaces. The host kernel runs the same
 * files in the normal suite. Tests that do not touch the kernel (Maglev,
 * wrr, configuration...) run on the host only. Each kernel has its own file
 * (debian-<kernel>.vm.test.ts), so the tier's runner keeps two guests
 * going at once, one per core, starting the next file as one ends.
 *
 * The files run in one node process (test/support/one-process-runner.ts), in
 * this order: a program verified for one file (program-variants first) is
 * lent to the files after it, instead of each verifying its own.
 */
const IN_VM = [
  'dist/test/bpf/program-variants.test.js',
  'dist/test/bpf/map-operations.test.js',
  'dist/test/dataplane/abi.test.js',
  'dist/test/dataplane/counters-bulk-read.test.js',
  'dist/test/dataplane/conn-table.test.js',
  'dist/test/dataplane/forwarding.test.js',
  'dist/test/dataplane/malformed.test.js',
  'dist/test/dataplane/pinning.test.js',
  'dist/test/dataplane/scheduling.test.js',
  'dist/test/dataplane/service-table.test.js',
  'dist/test/dataplane/namespace.netns.test.js',
];

/** Budget for one VM: boot, ~25 program loads and ~130 tests under TCG on a loaded 2-core machine. */
const VM_TIMEOUT_S = 1500;
/** How much longer helper processes may take inside than on the host (test/support/slowdown.ts). */
const VM_SLOWDOWN = 4;

/** Registers the test that boots `kernel` and runs IN_VM in it. */
export function kernelGuestTest(kernel: VmKernel): void {
  const title = `Debian's ${kernel} kernel verifies lb_xdp, passes the packet fixtures and forwards in namespaces`;
  it(title, { timeout: (VM_TIMEOUT_S + 60) * 1000 }, async () => {
    const run = await runInVm(
      kernel,
      [
        'env',
        // Bounds on helper processes stretch: the kernel runs emulated.
        `LBCTL_TEST_SLOWDOWN=${VM_SLOWDOWN}`,
        'node',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        // Each file's time, so the CI log shows which one a slowdown is in.
        '--test-reporter=./dist/test/support/file-times-reporter.js',
        '--test-reporter-destination=stdout',
        'dist/test/support/one-process-runner.js',
        ...IN_VM,
      ],
      VM_TIMEOUT_S,
    );
    const times = fileTimes(run.output);
    console.log(
      `kernel ${kernel}: QEMU used ${run.cpuSeconds?.toFixed(0) ?? '?'} s of CPU; time per file in the VM:\n${times.table.join('\n')}`,
    );
    if (run.timedOut) {
      // Files run one after another in the VM: each took until the next one started.
      const { started } = times;
      const finished = started
        .slice(0, -1)
        .map((f, i) => `  ${((started[i + 1]?.at ?? f.at) - f.at).toFixed(1)} s ${f.file}`);
      const current = started.at(-1);
      assert.fail(
        `Debian's ${kernel} kernel did not finish its tests within ${VM_TIMEOUT_S} s ` +
          '(VM_TIMEOUT_S in test/kernels/debian-kernel-guest.ts, the budget of one VM). ' +
          (current === undefined
            ? 'No test file had started (boot or node too slow).'
            : `It was running ${current.file}, started ${current.at} s into the run.`) +
          `\nFiles finished before it:\n${finished.join('\n') || '  (none)'}` +
          `\nLast output:\n${run.output.split('\n').slice(-60).join('\n')}`,
      );
    }
    const verified = [
      ...run.output.matchAll(/verifier (\S+) \[(.+?)\]: (\d+) insns, (\d+) verified, (\d+) ms/g),
    ];
    const tail = run.output.split('\n').slice(-150).join('\n');
    assert.ok(run.release, `the VM with kernel ${kernel} did not boot:\n${tail}`);
    assert.ok(
      run.release.startsWith(`${kernel}.`),
      `booted ${run.release}, not a ${kernel} kernel`,
    );
    const failedIn = times.failed.length === 0 ? '' : ` in ${times.failed.join(', ')}`;
    assert.equal(
      run.status,
      0,
      `tests failed${failedIn} in the VM (kernel ${run.release}):\n${tail}`,
    );
    assert.equal(summaryCount(run.output, 'fail'), 0, `tests failed${failedIn}:\n${tail}`);
    assert.ok((summaryCount(run.output, 'pass') ?? 0) > 100, `too few tests ran:\n${tail}`);
    const defaults = verified.find((v) => v[2] === 'defaults');
    assert.ok(defaults, `no verifier figures in the output:\n${tail}`);
    console.log(
      `kernel ${run.release}: booted in ${run.bootSeconds} s; lb_xdp ${defaults[3]} insns, ${defaults[4]} verified, loaded in ${defaults[5]} ms`,
    );
  });
}
