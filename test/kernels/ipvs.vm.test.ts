import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInVm, summaryCount } from '../support/vm.js';

/**
 * The IPVS tier: kernel IPVS exists only in the VM (the host kernel has no
 * ip_vs), so the IPVS suites (docs/ipvs.md) run in Debian 12's 6.1 kernel:
 * the DataPlane contract against IpvsDataPlane, the ipvsadm read-back of each
 * feature, and one lab (lbctl up on IPVS and on XDP, connection sync between
 * them, keepalived 2.2.7 side by side, then both directors on IPVS and a
 * graceful stop handing its connection table over).
 */
const IN_VM = [
  'dist/test/ipvs/contract.ipvs-suite.js',
  'dist/test/ipvs/ipvsadm-roundtrip.ipvs-suite.js',
  'dist/test/ipvs/director-lab.ipvs-suite.js',
];

/**
 * Budget: boot plus a few minutes of tests under TCG (the lab is most of it);
 * a loaded machine doubles it.
 */
const VM_TIMEOUT_S = 900;

/**
 * node:test's spec lines ("✔ name (1234.5ms)") for the top-level suites and
 * for anything inside that took 5 s or more, indented as in the report.
 */
function durations(output: string): string[] {
  return [...output.matchAll(/^( *)([✔✖]) (.+) \((\d+)(?:\.\d+)?ms\)$/gmu)]
    .filter(([, indent, , , ms]) => indent === '' || Number(ms) >= 5000)
    .map(
      ([, indent, mark, name, ms]) =>
        `${indent}${mark} ${(Number(ms) / 1000).toFixed(1)} s  ${name}`,
    );
}

describe('kernel IPVS in a VM', () => {
  it("Debian's 6.1 kernel runs the IPVS contract, the ipvsadm read-back, and the director lab", {
    timeout: (VM_TIMEOUT_S + 60) * 1000,
  }, async () => {
    const started = Date.now();
    const run = await runInVm(
      '6.1',
      [
        'node',
        '--test',
        '--test-reporter=spec',
        `--test-timeout=${(VM_TIMEOUT_S - 60) * 1000}`,
        ...IN_VM,
      ],
      VM_TIMEOUT_S,
    );
    const tail = run.output.split('\n').slice(-150).join('\n');
    // Where the time goes, in CI's log too: the VM tier is the longest part of npm test.
    console.log(
      [
        `kernel ${run.release}: booted in ${run.bootSeconds} s; whole run ${((Date.now() - started) / 1000).toFixed(1)} s`,
        ...durations(run.output),
      ].join('\n'),
    );
    assert.ok(run.release, `the VM did not boot:\n${tail}`);
    assert.equal(run.status, 0, `IPVS tests failed in the VM (kernel ${run.release}):\n${tail}`);
    assert.equal(summaryCount(run.output, 'fail'), 0, tail);
    assert.ok((summaryCount(run.output, 'pass') ?? 0) >= 48, `too few tests ran:\n${tail}`);
  });
});
