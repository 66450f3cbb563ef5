/**
 * The data plane as a VRRP tracked object, end to end: two `lbctl up`
 * directors, director1 MASTER forwarding in XDP. Someone detaches its XDP
 * link and puts another XDP program on eth0 (which lbctl cannot override):
 * director1 must not stay MASTER without a data plane — it goes to FAULT,
 * director2 takes the VIP over, the metrics say why. When the foreign
 * program goes, lbctl attaches again, director1 leaves FAULT and preempts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { uniqueName } from '../../src/netns/netns.js';
import { ANSWERED_WITHIN_S } from '../support/answered-within.js';
import { replaceWithForeignXdp } from '../support/foreign-xdp.js';
import { labForSuite } from '../support/lab-hooks.js';
import { SLOWDOWN } from '../support/slowdown.js';
import { waitFor } from '../support/wait.js';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-dpfault-'));
const lab = new Lab({
  // Random: two runs of the suite at once must not share namespaces or pins.
  prefix: uniqueName('df'),
  subnet: '10.85.0',
  reals: 1,
  directors: 2,
  vrrp: true,
  stateDir: scratch,
});
const d1 = 'director1';

async function metric(director: string, name: string): Promise<number | undefined> {
  const { stdout } = await lab.exec(director, 'curl', ['-s', 'http://127.0.0.1:9477/metrics']);
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** FAULT for the data plane breaking. */
const faultedByDataPlane = (director: string) => () =>
  /to=FAULT reason="tracked data-plane down"/.test(lab.directorLog(director)) ? true : undefined;

describe('data plane gone → VRRP FAULT', { timeout: 180_000 }, () => {
  labForSuite(lab, scratch);

  it('faults the master whose XDP program was replaced, and brings it back once lbctl can attach again', async (t) => {
    const bound = { timeoutMs: 10_000 * SLOWDOWN };
    // At start VRRP held its instance in INIT while XDP loaded: no FAULT, so no notify_fault.
    const startLog = lab.directorLog(d1);
    assert.match(startLog, /waiting for the data plane to start: VRRP instances stay in INIT/);
    assert.doesNotMatch(startLog, /entering FAULT state/);
    assert.match(startLog, /entering (MASTER|BACKUP) state service=vrrp instance=VI_1 from=INIT/);
    const waited = /data plane ready after (\d+) ms/.exec(startLog);
    assert.ok(waited !== null, 'VRRP heard the data plane was ready');
    t.diagnostic(`director1's VRRP waited ${waited[1]} ms for its data plane at start`);
    assert.ok(await lab.holdsVip(d1));
    assert.equal(await metric(d1, 'lbctl_dataplane_healthy'), 1);
    assert.deepEqual(await lab.requests(2, 80, ANSWERED_WITHIN_S), ['rs1', 'rs1']);

    // Detached and replaced, before the next check can put lbctl's back.
    await replaceWithForeignXdp(lab, d1);
    await waitFor(
      () => `director1 in FAULT; its log:\n${lab.directorLog(d1).slice(-3000)}`,
      faultedByDataPlane(d1),
      bound,
    );
    await waitFor(
      'VIP on director2',
      async () => ((await lab.holdsVip('director2')) ? true : undefined),
      bound,
    );
    await waitFor(
      'VIP released by director1',
      async () => ((await lab.holdsVip(d1)) ? undefined : true),
      bound,
    );
    assert.equal(await metric(d1, 'lbctl_dataplane_healthy'), 0);
    assert.ok(((await metric(d1, 'lbctl_dataplane_supervision_failures_total')) ?? 0) > 0);
    assert.match(lab.directorLog(d1), /data plane cannot forward on eth0/);
    assert.deepEqual(
      await lab.requests(2, 80, ANSWERED_WITHIN_S),
      ['rs1', 'rs1'],
      'director2 forwards',
    );

    // The foreign program goes: lbctl attaches again, leaves FAULT and preempts (priority 150).
    await lab.exec(d1, 'ip', ['link', 'set', 'dev', 'eth0', 'xdp', 'off']);
    await waitFor(
      'VIP back on director1',
      async () => ((await lab.holdsVip(d1)) ? true : undefined),
      bound,
    );
    assert.equal(await metric(d1, 'lbctl_dataplane_healthy'), 1);
    assert.ok(((await metric(d1, 'lbctl_dataplane_restored_total')) ?? 0) >= 1);
    assert.match(lab.directorLog(d1), /data plane healthy again/);
    await waitFor(
      'director2 gives the VIP back',
      async () => ((await lab.holdsVip('director2')) ? undefined : true),
      bound,
    );
    assert.deepEqual(await lab.requests(2, 80, ANSWERED_WITHIN_S), ['rs1', 'rs1']);
  });
});
