import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BpfObject, bpfObjectPath } from '../../src/bpf/index.js';
import { checkProgramLoad, PROGRAM_VARIANTS } from '../../src/dataplane/xdp/load-check.js';
import { verifierReason } from '../../src/dataplane/xdp/verifier-error.js';

/**
 * The running kernel's verifier accepts lb_xdp in every variant the rodata
 * knobs produce. Runs on the host and, in the VM tier, on each Debian kernel;
 * a refusal prints the verifier's reason and keeps the whole log in the message.
 */
// Two loads at a time: the verifier runs in the kernel on the loading thread
// (libuv's pool), so a second core verifies another variant meanwhile.
describe(`lb_xdp variants on this kernel`, { concurrency: 2 }, () => {
  for (const variant of PROGRAM_VARIANTS) {
    it(`loads with ${variant.name}`, async () => {
      const load = await checkProgramLoad(variant);
      assert.ok(
        load.accepted,
        `kernel ${load.kernel} refused lb_xdp (${variant.name}): ${load.error}\n` +
          `${verifierReason(load.verifierLog ?? '').join('\n')}\n--- full verifier log ---\n${load.verifierLog ?? '(none)'}`,
      );
      assert.ok((load.insns ?? 0) > 1000, `implausible instruction count ${load.insns}`);
      console.log(
        `verifier ${load.kernel} [${variant.name}]: ${load.insns} insns, ${load.verifiedInsns} verified, ${load.loadMs.toFixed(0)} ms`,
      );
    });
  }
});

/** The live-frame generator (bpf/trafficgen.bpf.c) loads here too: the e2e bench needs it on every kernel lbctl supports. */
describe('the live-frame generator on this kernel', () => {
  it('loads tg_xdp for a million flows', async () => {
    const obj = BpfObject.open(bpfObjectPath('trafficgen'));
    try {
      obj.setRodata('tg_flows', 1 << 20);
      await obj.load();
      obj.program('tg_xdp').close();
    } finally {
      obj.close();
    }
  });
});
