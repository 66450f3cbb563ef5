import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  manyKeepAliveConnections,
  startLineServers,
  syncPairLab,
} from '../test/sync/keepalive-lab.js';
import type { BenchResult } from './result.js';

const CONNECTIONS = 100;

/**
 * failover_kept_connections: the share of 100 established keep-alive
 * connections through the VRRP master (two lbctl directors, XDP DR, rr)
 * that still get an answer after the master's lbctl is killed with SIGKILL
 * and the backup has taken the VIP, with connection sync on and off.
 */
export async function failoverKeptConnections(): Promise<BenchResult> {
  const share: Record<string, number> = {};
  for (const sync of [true, false]) {
    share[sync ? 'withSync' : 'withoutSync'] = await keptShare(sync);
  }
  return { name: 'failover_kept_connections', ...share, connections: CONNECTIONS };
}

async function keptShare(sync: boolean): Promise<number> {
  const scratch = mkdtempSync(join(tmpdir(), 'lbctl-bench-sync-'));
  const lab = syncPairLab({ sync, subnet: '10.82.0', stateDir: join(scratch, 'lab') });
  const cleanups: (() => void)[] = [];
  const cleanup = { after: (fn: () => void) => void cleanups.push(fn) };
  try {
    await lab.up();
    await startLineServers(lab, cleanup, 10_000);
    const client = await manyKeepAliveConnections(lab, cleanup, CONNECTIONS, 30_000);
    // The master sends every 100 ms; leave the backup time to store every flow.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await lab.stop('director1', 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (!(await lab.holdsVip('director2'))) {
      if (Date.now() > deadline) throw new Error('director2 never took the VIP');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { kept } = await client.again();
    return kept / CONNECTIONS;
  } finally {
    for (const fn of cleanups) fn();
    await lab.down();
    rmSync(scratch, { recursive: true, force: true });
  }
}
