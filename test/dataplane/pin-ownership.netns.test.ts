/**
 * Two directors in two network namespaces run with the same instance name
 * (so the same pin directory, /sys/fs/bpf/lbctl/<instance>). Before the pin
 * directory was locked and tied to its namespace, the second `lbctl up` took
 * the first one's pinned XDP link over (its program on the first director's
 * eth0) and detached it on SIGTERM: 127 of 200 requests failed. Now the
 * second refuses, naming both namespaces, and the first never misses a
 * request — whether the first daemon runs (the lock) or was SIGKILLed with
 * its links still forwarding (the owner record).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import { uniqueName } from '../../src/netns/netns.js';
import { packageRoot } from '../../src/paths.js';
import { ANSWERED_WITHIN_S } from '../support/answered-within.js';
import { runBounded } from '../support/bounded-run.js';
import { SLOWDOWN } from '../support/slowdown.js';
import { teardown } from '../support/teardown.js';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-pinown-'));
/** A lab with one director (no VRRP) and one real, in its own namespaces. */
const oneDirectorLab = (prefix: string, subnet: string) =>
  new Lab({ prefix, subnet, reals: 1, directors: 1, vrrp: false, stateDir: scratch });
// Random prefixes: two runs of the suite at once must not share namespaces or pins.
const first = oneDirectorLab(uniqueName('pa'), '10.83.0');
const second = oneDirectorLab(uniqueName('pb'), '10.84.0');
const director = 'director1';
const REQUESTS = 200;

async function xdpProgramId(lab: Lab): Promise<number | undefined> {
  const { stdout } = await lab.exec(director, 'ip', ['-j', '-d', 'link', 'show', 'dev', 'eth0']);
  const [link] = JSON.parse(stdout) as { xdp?: { prog?: { id?: number } } }[];
  return link?.xdp?.prog?.id;
}

/** `lbctl up` in the second lab's director namespace, with the first lab's instance name. */
async function secondUp(): Promise<{ code: number | null; output: string }> {
  const conf = join(scratch, 'second-same-instance.conf');
  const original = readFileSync(second.configPath(director), 'utf8');
  writeFileSync(
    conf,
    original.replace(/lbctl_instance_name \S+/, `lbctl_instance_name ${first.instance(director)}`),
  );
  return runBounded(
    process.execPath,
    [join(packageRoot, 'bin', 'lbctl'), 'up', conf, '--run-dir', join(scratch, 'second-run')],
    { namespace: second.namespace(director), timeoutMs: 30_000 * SLOWDOWN },
  );
}

/** The second start, while the first lab's client sends REQUESTS requests one after the other. */
async function secondStartDuringRequests(): Promise<{ code: number | null; output: string }> {
  const requests = first.requests(REQUESTS, 80, ANSWERED_WITHIN_S);
  const attempt = await secondUp();
  const answers = await requests;
  assert.equal(answers.length, REQUESTS);
  const failed = answers.filter((a) => a !== 'rs1').length;
  assert.equal(failed, 0, `the first director kept forwarding (${failed} failed)`);
  return attempt;
}

describe('two namespaces, one instance name', { timeout: 240_000 }, () => {
  before(async () => {
    await first.up();
    await second.up();
    // The second lab's own daemon goes: only its namespace and interfaces are used.
    await second.stop(director);
  });
  teardown(async () => {
    try {
      await second.down();
      await first.down();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('refuses while the first daemon runs (the pin directory is locked)', async () => {
    const before = await xdpProgramId(first);
    assert.ok(before !== undefined, 'the first director runs XDP');
    const attempt = await secondStartDuringRequests();
    assert.notEqual(attempt.code, 0, attempt.output);
    assert.match(attempt.output, /DATAPLANE_PIN_DIR_IN_USE|Cannot use pin directory/);
    assert.match(
      attempt.output,
      /holds it in network namespace net:\[\d+\], while this lbctl runs in net:\[\d+\]/,
    );
    assert.equal(await xdpProgramId(first), before, 'the first director keeps its program');
    assert.equal(await xdpProgramId(second), undefined, 'nothing attached in the second');
    assert.deepEqual(await first.requests(3, 80, ANSWERED_WITHIN_S), ['rs1', 'rs1', 'rs1']);
  });

  it('refuses after the first daemon was SIGKILLed while its links still forward', async () => {
    await first.stop(director, 'SIGKILL');
    const before = await xdpProgramId(first);
    assert.ok(before !== undefined, 'XDP outlives the killed daemon (pinned link)');
    const attempt = await secondStartDuringRequests();
    assert.notEqual(attempt.code, 0, attempt.output);
    assert.match(
      attempt.output,
      /its XDP links \(1 still attached\) belong to lbctl pid \d+ in network namespace net:\[\d+\], and this lbctl runs in net:\[\d+\]/,
    );
    assert.equal(await xdpProgramId(first), before);
    // The first director's own restart takes its pins back.
    await first.start(director);
    assert.match(first.directorLog(director), /took over pinned XDP link/);
    assert.deepEqual(await first.requests(3, 80, ANSWERED_WITHIN_S), ['rs1', 'rs1', 'rs1']);
  });
});
