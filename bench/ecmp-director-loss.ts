import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../src/dataplane/abi.js';
import { maglevTable } from '../src/dataplane/maglev.js';
import { Lab } from '../src/lab/lab.js';
import { LongLivedFlows } from '../src/lab/long-lived-flows.js';
import type { BenchResult } from './result.js';

const FLOWS = 150;

/**
 * ecmp_director_loss: the share of established flows that change director
 * when one of three dies (SIGKILL of its lbctl and BIRD; the router's BGP
 * session drops), each director in turn, in the ECMP lab (BIRD router, L4
 * multipath hash, mh + DR). The ideal is 1/3: only the dead director's flows.
 * Which flow goes where is the router's FIB choice (ip route get with the
 * flow's ports); `broken` is the share of long-lived connections that stopped
 * answering or changed real (0 with mh: the survivors forward by the hash).
 *
 * ecmp_real_loss: the Maglev disruption when one of four reals leaves: the
 * share of the table's slots of the other reals that change owner (ideal 0).
 */
export async function ecmpDirectorLoss(): Promise<BenchResult[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'lbctl-bench-ecmp-'));
  const lab = new Lab({
    prefix: 'lbbec',
    subnet: '10.84.0',
    reals: 4,
    directors: 3,
    vrrp: false,
    ecmp: true,
    stateDir: scratch,
  });
  const results: BenchResult[] = [];
  try {
    await lab.up();
    const ecmp = lab.ecmp!;
    const moved: number[] = [];
    let broken = 0;
    for (const dead of lab.hosts.directors) {
      const { flows, first } = await LongLivedFlows.open(
        lab.namespace('client'),
        lab.addresses.vip,
        80,
        FLOWS,
      );
      try {
        const ports = first.map((f) => f.port);
        const before = await ecmp.directorsOf(ports, 80);
        await lab.stop(dead, 'SIGKILL');
        await ecmp.awaitPaths(lab.hosts.directors.length - 1, 20_000);
        const after = await ecmp.directorsOf(ports, 80);
        const second = await flows.round();
        const share = ports.filter((p) => before.get(p) !== after.get(p)).length / ports.length;
        moved.push(share);
        broken += second.filter(
          (f, i) => f.error !== undefined || f.real !== first[i]!.real,
        ).length;
        results.push({
          name: `ecmp_director_loss_${dead}`,
          movedShare: share,
          ideal: 1 / 3,
          flows: FLOWS,
        });
      } finally {
        flows.close();
      }
      await lab.start(dead);
      await ecmp.awaitPaths(lab.hosts.directors.length, 20_000);
    }
    results.push({
      name: 'ecmp_director_loss',
      movedShare: moved.reduce((a, b) => a + b, 0) / moved.length,
      ideal: 1 / 3,
      brokenShare: broken / (FLOWS * moved.length),
    });
  } finally {
    await lab.down();
    rmSync(scratch, { recursive: true, force: true });
  }
  results.push(maglevRealLoss());
  return results;
}

function maglevRealLoss(): BenchResult {
  const reals = [1, 2, 3, 4].map((n) => ({ id: n, key: `10.84.0.${10 + n}|80`, weight: 1 }));
  const before = maglevTable(reals, abi.RING_SIZE);
  const after = maglevTable(
    reals.filter((r) => r.id !== 2),
    abi.RING_SIZE,
  );
  let others = 0;
  let changed = 0;
  for (let slot = 0; slot < before.length; slot++) {
    if (before[slot] === 2) continue;
    others++;
    if (after[slot] !== before[slot]) changed++;
  }
  return { name: 'ecmp_real_loss', disruption: changed / others, ideal: 0 };
}
