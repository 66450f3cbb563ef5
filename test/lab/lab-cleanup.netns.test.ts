import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/errors.js';
import { Lab } from '../../src/lab/lab.js';
import { DEFAULT_LAB } from '../../src/lab/lab-spec.js';
import { alive } from '../../src/lab/processes.js';
import { nsenterArgs } from '../../src/netns/exec.js';
import { createNamespace, listNamespaces, uniqueName } from '../../src/netns/netns.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

describe('the lab', () => {
  it('removes what a crashed run left behind: namespaces, their processes, state', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lbctl-lab-'));
    teardown(() => rmSync(stateDir, { recursive: true, force: true }), t);
    // Random: two runs of the suite at once must not remove each other's labs.
    const prefix = uniqueName('tc');
    const lab = new Lab({ ...DEFAULT_LAB, prefix, subnet: '10.79.0', stateDir });
    teardown(() => lab.down(), t);
    // Half a lab: the switch and one real server with a program still running in it.
    await createNamespace(lab.namespace('switch'));
    await createNamespace(lab.namespace('rs1'));
    const orphan = spawn('nsenter', [...nsenterArgs(lab.namespace('rs1')), 'sleep', '60'], {
      stdio: 'ignore',
    });
    mkdirSync(join(stateDir, prefix), { recursive: true });
    writeFileSync(join(stateDir, prefix, 'rs1.http.pid'), `${orphan.pid}\n`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(orphan.pid!), true);

    assert.deepEqual(
      await lab.status().then((rows) => rows?.find((r) => r.host === 'rs1')?.running),
      `http (pid ${orphan.pid})`,
    );
    await lab.down();

    assert.deepEqual(await listNamespaces(`${prefix}-`), []);
    // Node learns of the exit from SIGCHLD, later on a loaded machine.
    await waitFor(
      'the program to be stopped',
      () => orphan.exitCode !== null || orphan.signalCode !== null,
    );
    assert.equal(existsSync(join(stateDir, prefix)), false);
    assert.equal(await lab.status(), undefined, 'no lab any more');
  });

  it('refuses options it cannot build, naming the option', () => {
    assert.throws(
      () => new Lab({ ...DEFAULT_LAB, prefix: 'Way-Too-Long-Prefix' }),
      (err: Error) =>
        hasCode(err, 'LAB_INVALID_OPTION') && /prefix 'Way-Too-Long-Prefix'/.test(err.message),
    );
    assert.throws(
      () => new Lab({ ...DEFAULT_LAB, directors: 1, vrrp: true }),
      /Cannot build the lab: VRRP needs two directors/,
    );
    assert.throws(() => new Lab({ ...DEFAULT_LAB, subnet: '10.77' }), /subnet '10.77'/);
  });

  it('names only its own hosts', async () => {
    const lab = new Lab({ ...DEFAULT_LAB, prefix: uniqueName('tn') });
    await assert.rejects(
      lab.start('rs9'),
      /Cannot use lab host 'rs9': the lab has client, director1, director2, rs1, rs2/,
    );
  });
});
