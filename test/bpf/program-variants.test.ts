import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BpfObject, bpfObjectPath } from '../../src/bpf/index.js';
import {
  checkProgramLoad,
  DEFAULT_VARIANT,
  PROGRAM_VARIANTS,
  type ProgramLoad,
  type ProgramVariant,
} from '../../src/dataplane/xdp/load-check.js';
import { verifierReason } from '../../src/dataplane/xdp/verifier-error.js';
import { TEST_TABLES } from '../dataplane/support/harness.js';
import { SkeletonLender } from '../dataplane/support/shared-skeleton.js';

/**
 * The running kernel's verifier accepts lb_xdp in every variant the rodata
 * knobs produce. Runs on the host and, in the VM tier, on each Debian kernel;
 * a refusal prints the verifier's reason and keeps the whole log in the message.
 *
 * The knob variants load at the data-plane tests' table sizes through the
 * skeleton lender: where the VM tier runs this file in one process with the
 * data-plane tests (test/support/one-process-runner.ts), those of their data
 * planes with the same knobs borrow the program verified here instead of
 * verifying it again. The defaults (200 MiB of maps) load on their own and
 * are freed at once.
 */
async function load(variant: ProgramVariant): Promise<ProgramLoad> {
  if (variant === DEFAULT_VARIANT) return checkProgramLoad(variant);
  const lender = new SkeletonLender();
  try {
    return await checkProgramLoad(
      { name: variant.name, settings: { ...TEST_TABLES, ...variant.settings } },
      undefined,
      lender.load,
    );
  } finally {
    lender.giveBack();
  }
}

// Two loads at a time: the verifier runs in the kernel on the loading thread
// (libuv's pool), so a second core verifies another variant meanwhile.
describe(`lb_xdp variants on this kernel`, { concurrency: 2 }, () => {
  for (const variant of PROGRAM_VARIANTS) {
    it(`loads with ${variant.name}`, async () => {
      const result = await load(variant);
      assert.ok(
        result.accepted,
        `kernel ${result.kernel} refused lb_xdp (${variant.name}): ${result.error}\n` +
          `${verifierReason(result.verifierLog ?? '').join('\n')}\n--- full verifier log ---\n${result.verifierLog ?? '(none)'}`,
      );
      assert.ok((result.insns ?? 0) > 1000, `implausible instruction count ${result.insns}`);
      console.log(
        `verifier ${result.kernel} [${variant.name}]: ${result.insns} insns, ${result.verifiedInsns} verified, ${result.loadMs.toFixed(0)} ms`,
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
