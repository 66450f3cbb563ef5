/**
 * N active directors behind BGP/ECMP, for real: an upstream router namespace
 * running BIRD with L4 multipath hashing, three directors each running
 * `lbctl up` with its own BIRD, four real servers (mh, DR) and a client
 * behind the router. Spread, graceful stop, crash, a real's loss, how
 * fast a withdraw reaches the router's RIB, and the two withdraws that come
 * from inside a running director: its data plane broken (the supervisor) and
 * a VRRP instance in FAULT (director1 runs one, tracking a file).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import { LongLivedFlows } from '../../src/lab/long-lived-flows.js';
import { uniqueName } from '../../src/netns/netns.js';
import { replaceWithForeignXdp } from '../support/foreign-xdp.js';
import { labForSuite } from '../support/lab-hooks.js';
import { SLOWDOWN } from '../support/slowdown.js';
import { waitFor } from '../support/wait.js';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-ecmp-'));
const prefix = uniqueName('ec');
/** Non-zero puts director1's VRRP instance in FAULT (track_file, weight 0, as keepalived). */
const faultFile = join(scratch, 'director1-fault');
/** A VRRP instance on director1 only, beside BGP: its FAULT must withdraw the VIP. */
const faultTrackedInstance = (a: LabAddresses, director: number) =>
  director !== 0
    ? ''
    : `
track_file lab_fault {
    file ${faultFile}
    weight 0
}
vrrp_instance VI_SITE {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        ${a.directors[0]!.replace(/\.\d+$/, '.200')}/32 dev eth0
    }
    track_file {
        lab_fault
    }
}
`;
const lab = new Lab({
  prefix,
  subnet: '10.83.0',
  reals: 4,
  directors: 3,
  vrrp: false,
  ecmp: true,
  directorExtraConfig: faultTrackedInstance,
  stateDir: scratch,
  timeScale: SLOWDOWN,
});
const ecmp = () => {
  if (lab.ecmp === undefined) throw new Error('an ECMP lab');
  return lab.ecmp;
};
const directors = lab.hosts.directors;
const addressOf = (director: string) => lab.addresses.directors[directors.indexOf(director)]!;

/** A director's Prometheus metric (summed over its label sets). */
async function metric(director: string, name: string): Promise<number> {
  const { stdout } = await lab.exec(director, 'curl', [
    '-s',
    '--max-time',
    '5',
    'http://127.0.0.1:9477/metrics',
  ]);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const connectionsPerDirector = () =>
  Promise.all(directors.map((d) => metric(d, 'lbctl_virtual_server_connections_total')));

/** Waits until the router's RIB has exactly these directors' paths. */
async function ribIs(expected: readonly string[], timeoutMs = 20_000): Promise<void> {
  const want = expected.map(addressOf).sort().join(',');
  let seen = '';
  await waitFor(
    () => `the router's paths to be ${want} (saw ${seen})`,
    async () => {
      seen = (await ecmp().paths()).join(',');
      return seen === want;
    },
    { timeoutMs: timeoutMs * SLOWDOWN, intervalMs: 50 },
  );
}

/**
 * Milliseconds from `start` until `director`'s path leaves the router's RIB, polling birdc
 * every 20 ms (the bound is the poll, not BIRD).
 */
async function withdrawnAfter(director: string, start: number): Promise<number> {
  await waitFor(
    `${director}'s path to leave the router's RIB`,
    async () => !(await ecmp().paths()).includes(addressOf(director)),
    { timeoutMs: 10_000 * SLOWDOWN, intervalMs: 20 },
  );
  return Date.now() - start;
}

/** `count` keep-alive connections from the client to the VIP, each asked once. */
const longLivedFlows = (count: number) =>
  LongLivedFlows.open(lab.namespace('client'), lab.addresses.vip, 80, count);

/**
 * Everything running again, every director announcing, and every director's checks seeing
 * every real up: mh sends a flow to the same real on every director only when their reals agree.
 */
async function restoreAll(): Promise<void> {
  for (const host of [...directors, ...lab.hosts.reals]) await lab.start(host);
  await ribIs(directors);
  const reals = lab.hosts.reals.length;
  let up: number[] = [];
  await waitFor(
    () => `every director to see ${reals} reals up (saw ${up.join(' / ')})`,
    async () => {
      up = await Promise.all(directors.map((d) => metric(d, 'lbctl_real_server_up')));
      return up.every((n) => n === reals);
    },
    { timeoutMs: 20_000 * SLOWDOWN, intervalMs: 100 },
  );
}

describe('N active directors behind BGP/ECMP (BIRD, mh, DR)', { timeout: 240_000 }, () => {
  labForSuite(lab, scratch);

  it('spreads new connections across the three directors within ±15 %', async (t) => {
    await restoreAll(); // lab up waits for the paths, not for every real's first check
    const count = 1500;
    const before = await connectionsPerDirector();
    const { answers, failed } = await lab.newConnections(count, 24);
    const after = await connectionsPerDirector();
    const per = after.map((n, i) => n - before[i]!);
    t.diagnostic(
      `connections per director: ${per.join(' / ')}; per real: ${JSON.stringify(answers)}`,
    );
    assert.equal(failed, 0);
    assert.equal(
      per.reduce((a, b) => a + b, 0),
      count,
      'every connection opened at one director',
    );
    for (const [i, n] of per.entries()) {
      assert.ok(
        Math.abs(n - count / 3) <= 0.15 * (count / 3),
        `${directors[i]} took ${n} of ${count}`,
      );
    }
    assert.deepEqual(Object.keys(answers).sort(), lab.hosts.reals, 'every real answers');
  });

  it('withdraws within one second of shutdown, and a graceful stop fails no request', async (t) => {
    const stopped = directors[2]!;
    const load = lab.newConnections(600, 4);
    await new Promise((r) => setTimeout(r, 300));
    const start = Date.now();
    const stopping = lab.stop(stopped);
    const elapsed = await withdrawnAfter(stopped, start);
    await stopping;
    const { answers, failed } = await load;
    t.diagnostic(
      `withdrawn from the router's RIB ${elapsed} ms after SIGTERM; answers ${JSON.stringify(answers)}`,
    );
    assert.ok(elapsed < 1000, `withdrawn after ${elapsed} ms`);
    assert.equal(failed, 0, 'no request failed while the director stopped');
    await restoreAll();
  });

  it('withdraws within one second of quorum loss, and announces again on recovery', async (t) => {
    const lost: number[] = [];
    const rounds = directors.map(async (director) => {
      // Quorum is lost when the last real fails its check: time it from the director's metrics.
      const quorumDown = await waitFor(
        `${director} to lose quorum`,
        async () =>
          (await metric(director, 'lbctl_virtual_server_quorum_up')) === 0 ? Date.now() : false,
        { timeoutMs: 20_000 * SLOWDOWN, intervalMs: 20 },
      );
      lost.push(await withdrawnAfter(director, quorumDown));
    });
    for (const real of lab.hosts.reals) await lab.stop(real);
    await Promise.all(rounds);
    t.diagnostic(`withdrawn ${lost.join(' / ')} ms after each director saw its quorum lost`);
    for (const ms of lost) assert.ok(ms < 1000, `withdrawn ${ms} ms after quorum loss`);
    await restoreAll();
  });

  it("a director's crash moves only flows the router moves; its long-lived connections continue (mh)", async (t) => {
    const { flows, first } = await longLivedFlows(90);
    try {
      assert.deepEqual(
        first.filter((f) => f.error !== undefined),
        [],
        'every connection answered',
      );
      const ports = first.map((f) => f.port);
      const before = await ecmp().directorsOf(ports, 80);
      const crashed = directors[1]!;
      const survivors = directors.filter((d) => d !== crashed);
      const hashForwarded = () =>
        Promise.all(
          survivors.map((d) => metric(d, 'lbctl_dataplane_hash_forwarded_packets_total')),
        );
      const untrackedBefore = await hashForwarded();
      await lab.stop(crashed, 'SIGKILL');
      await ribIs(directors.filter((d) => d !== crashed));
      const after = await ecmp().directorsOf(ports, 80);
      const second = await flows.round();
      const onCrashed = ports.filter((p) => before.get(p) === crashed).length;
      const moved = ports.filter((p) => before.get(p) !== after.get(p)).length;
      t.diagnostic(
        `${onCrashed} of ${ports.length} flows were on ${crashed}; ${moved} changed director (${((100 * moved) / ports.length).toFixed(1)} %)`,
      );
      assert.ok(onCrashed > 0, 'the crashed director carried flows');
      assert.deepEqual(
        second.filter((f) => f.error !== undefined),
        [],
        'every long-lived connection still answers',
      );
      for (const [i, f] of second.entries())
        assert.equal(f.real, first[i]!.real, `flow ${f.port} kept its real`);
      assert.equal(ports.filter((p) => after.get(p) === crashed).length, 0);
      // The survivors never saw those flows open: they forwarded them by the hash, untracked.
      const untracked = (await hashForwarded()).map((n, i) => n - untrackedBefore[i]!);
      t.diagnostic(
        `segments forwarded by the hash at ${survivors.join(', ')}: ${untracked.join(' / ')}`,
      );
      assert.ok(untracked.reduce((a, b) => a + b, 0) >= onCrashed, 'at least one per moved flow');
    } finally {
      flows.close();
    }
    await restoreAll();
  });

  it("a real server's loss moves only that real's flows", async (t) => {
    const { flows, first } = await longLivedFlows(60);
    try {
      const lost = 'rs2';
      assert.ok(
        first.some((f) => f.real === lost),
        `${lost} carries some of the flows`,
      );
      await lab.stop(lost);
      // Until every director's check has removed it (delay_loop 1, retry 1).
      await waitFor(
        `every director to remove ${lost}`,
        async () => {
          const { answers } = await lab.newConnections(30, 6);
          return answers[lost] === undefined;
        },
        { timeoutMs: 20_000 * SLOWDOWN, intervalMs: 200 },
      );
      const second = await flows.round();
      const kept = second.filter((_f, i) => first[i]!.real !== lost);
      t.diagnostic(`${first.length - kept.length} of ${first.length} flows were on ${lost}`);
      for (const f of kept) {
        const was = first.find((x) => x.port === f.port)!.real;
        assert.equal(f.real, was, `flow ${f.port} on ${was} kept its real`);
      }
      for (const [i, f] of second.entries())
        if (first[i]!.real === lost)
          assert.ok(f.error !== undefined, `flow ${f.port} on ${lost} ended`);
    } finally {
      flows.close();
    }
    await restoreAll();
  });
  it('withdraws a director whose data plane breaks, and announces again once lbctl repairs it', async (t) => {
    const broken = directors[2]!; // runs no VRRP: the withdraw can only come from the data plane
    const vip = lab.addresses.vip;
    const start = Date.now();
    // Detached and replaced by a program lbctl must not override: its supervisor marks it broken.
    await replaceWithForeignXdp(lab, broken);
    const elapsed = await withdrawnAfter(broken, start);
    await ribIs(directors.filter((d) => d !== broken));
    assert.match(
      lab.directorLog(broken),
      new RegExp(`withdrew ${vip.replaceAll('.', '\\.')}: the data plane failed its latest update`),
    );
    assert.equal(await metric(broken, 'lbctl_dataplane_healthy'), 0);
    // The foreign program goes: lbctl attaches again and announces the VIP again.
    const repaired = Date.now();
    await lab.exec(broken, 'ip', ['link', 'set', 'dev', 'eth0', 'xdp', 'off']);
    await ribIs(directors);
    t.diagnostic(
      `withdrawn ${elapsed} ms after the program was replaced; back in the RIB ${Date.now() - repaired} ms after it was removed`,
    );
    assert.equal(await metric(broken, 'lbctl_dataplane_healthy'), 1);
    const { failed } = await lab.newConnections(60, 6);
    assert.equal(failed, 0, 'every director forwards again');
  });

  it('withdraws a director whose VRRP instance is in FAULT, and announces again when it leaves FAULT', async (t) => {
    const faulty = directors[0]!;
    const vip = lab.addresses.vip;
    const start = Date.now();
    writeFileSync(faultFile, '1\n');
    const elapsed = await withdrawnAfter(faulty, start);
    await ribIs(directors.filter((d) => d !== faulty));
    // Its tracked file put it in FAULT (the data plane's start holds instances in INIT instead).
    assert.match(lab.directorLog(faulty), /to=FAULT reason="tracked file:lab_fault down"/);
    assert.match(
      lab.directorLog(faulty),
      new RegExp(`withdrew ${vip.replaceAll('.', '\\.')}: VRRP instance VI_SITE is in FAULT`),
    );
    const recovered = Date.now();
    writeFileSync(faultFile, '0\n');
    await ribIs(directors);
    t.diagnostic(
      `withdrawn ${elapsed} ms after the tracked file went to 1; back in the RIB ${Date.now() - recovered} ms after it went to 0`,
    );
  });
});
