import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInVm, summaryCount } from '../support/vm.js';

/**
 * The IPVS tier: kernel IPVS exists only in the VM (the host kernel has no
 * ip_vs), so the IPVS suites (docs/ipvs.md) run in Debian 12's 6.1 kernel:
 * the DataPlane contract against IpvsDataPlane, the ipvsadm read-back of each
 * feature, a keepalived.conf with lb_algo wlc under lbctl up forwarding
 * HTTP in DR mode, and connection sync between kernel IPVS and lbctl's XDP
 * data plane both ways.
 */
const IN_VM = [
  'dist/test/ipvs/contract.ipvs-suite.js',
  'dist/test/ipvs/ipvsadm-roundtrip.ipvs-suite.js',
  'dist/test/ipvs/keepalived-wlc.ipvs-suite.js',
  'dist/test/ipvs/connection-sync.ipvs-suite.js',
];

/**
 * Budget: boot plus about 4 minutes of tests under TCG (the sync suite's
 * two-director lab is most of it); a loaded machine doubles it.
 */
const VM_TIMEOUT_S = 900;

describe('kernel IPVS in a VM', () => {
  it("Debian's 6.1 kernel runs the IPVS contract, the ipvsadm read-back, wlc and fwmark under lbctl up, and connection sync", {
    timeout: (VM_TIMEOUT_S + 60) * 1000,
  }, async () => {
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
    assert.ok(run.release, `the VM did not boot:\n${tail}`);
    assert.equal(run.status, 0, `IPVS tests failed in the VM (kernel ${run.release}):\n${tail}`);
    assert.equal(summaryCount(run.output, 'fail'), 0, tail);
    assert.ok((summaryCount(run.output, 'pass') ?? 0) >= 45, `too few tests ran:\n${tail}`);
    console.log(`kernel ${run.release}: booted in ${run.bootSeconds} s; IPVS suites passed`);
  });
});
