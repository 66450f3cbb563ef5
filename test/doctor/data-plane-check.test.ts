import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { release } from 'node:os';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { bpfObjectPath } from '../../src/bpf/paths.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { checkDataPlaneProgram, healthy } from '../../src/doctor/checks.js';
import { lbctlCommand } from '../support/cli.js';

const exec = promisify(execFile);

describe('doctor loads the real data-plane program', () => {
  it('reports the verifier accepting lb_xdp, with its size, on this kernel', async () => {
    const result = await checkDataPlaneProgram();
    assert.equal(result.status, 'ok', result.detail);
    assert.equal(result.required, true);
    assert.match(result.detail, new RegExp(`kernel ${release().replace(/[.+]/g, '\\$&')}`));
    assert.match(result.detail, /\(\d+ instructions, \d+ verified\)/);
  });

  it('reports a rejected program as missing, naming the kernel and the verifier reason', async () => {
    // The real object plus one program the verifier refuses: rejected as a whole.
    const result = await checkDataPlaneProgram(bpfObjectPath('lb_rejected'));
    assert.equal(result.status, 'missing');
    assert.equal(result.required, true);
    assert.equal(healthy([result]), false);
    assert.match(
      result.detail,
      new RegExp(
        `the verifier of kernel ${release().replace(/[.+]/g, '\\$&')} refused program lb_rejected: `,
      ),
    );
    assert.match(result.detail, /invalid access to packet/);
  });

  it('up gets the same explanation from XdpDataPlane.open, with the full log kept', async () => {
    await assert.rejects(
      XdpDataPlane.open({
        instance: 'rejected',
        pin: false,
        objectPath: bpfObjectPath('lb_rejected'),
      }),
      (err: Error & { verifierLog?: string }) => {
        assert.match(
          err.message,
          /^Cannot load the XDP data plane: the verifier of kernel .* refused program lb_rejected: /,
        );
        assert.match(err.message, /invalid access to packet/);
        assert.match(err.verifierLog ?? '', /processed \d+ insns/);
        return true;
      },
    );
  });

  it('lbctl doctor --json lists the data-plane check', async () => {
    const { stdout } = await exec(process.execPath, [...lbctlCommand(), 'doctor', '--json']).catch(
      // Exit status 1 only means some other check failed on this machine.
      (err: { stdout: string }) => ({ stdout: err.stdout }),
    );
    const report = JSON.parse(stdout) as { checks: { name: string; status: string }[] };
    const check = report.checks.find((c) => c.name === 'XDP data plane');
    assert.equal(check?.status, 'ok', JSON.stringify(check));
  });
});
