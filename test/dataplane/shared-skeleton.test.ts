import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type BpfMap, BpfRingBuffer } from '../../src/bpf/index.js';
import * as abi from '../../src/dataplane/abi.js';
import {
  type LbSkeleton,
  type LbSkeletonOptions,
  loadLbSkeleton,
} from '../../src/dataplane/xdp/skeleton.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { real, run } from './support/harness.js';
import { frame, TCP_SYN } from './support/packet.js';
import { SkeletonLender } from './support/shared-skeleton.js';

const small = { maxServices: 4, maxReals: 8, connections: 64, persistenceEntries: 64 };

/** Every entry of a map as "key value-digest" (all CPUs of a per-CPU map), in key order. */
function contents(map: BpfMap): string[] {
  const out: string[] = [];
  for (const key of map.keys()) {
    const value = map.info.perCpu ? Buffer.concat(map.lookupPerCpu(key) ?? []) : map.lookup(key);
    const digest = createHash('sha1')
      .update(value ?? Buffer.alloc(0))
      .digest('hex');
    out.push(`${key.toString('hex')} ${digest}`);
  }
  return out.sort();
}

function closeSkeleton(s: LbSkeleton): void {
  for (const map of Object.values(s.maps)) map.close();
  s.program.close();
  s.syncLearn?.close();
  s.syncEvents.close();
}

/** Opens a data plane through `lender`, recording the load setting it asked for. */
async function open(lender: SkeletonLender, seen: LbSkeletonOptions[]): Promise<XdpDataPlane> {
  return XdpDataPlane.open({
    instance: 'lender-test',
    pin: false,
    ...small,
    loadSkeleton: (options) => {
      seen.push(options);
      return lender.load(options);
    },
  });
}

/** Puts something in every map: services, NAT and persistence, flows, counters (carried too), egress. */
async function dirty(plane: XdpDataPlane): Promise<void> {
  await plane.setService({ vip: '10.61.0.1', port: 80, protocol: 'tcp', scheduler: 'rr' }, [
    real('10.61.0.10', '02:00:00:00:61:10', { forwarding: 'nat', port: 8080 }),
  ]);
  await plane.setService(
    {
      vip: '10.61.0.2',
      port: 80,
      protocol: 'tcp',
      scheduler: 'rr',
      persistence: { timeoutS: 300, prefixLength: 32 },
    },
    [real('10.61.0.11', '02:00:00:00:61:11')],
  );
  for (const dst of ['10.61.0.1', '10.61.0.2']) {
    const out = await run(
      plane,
      frame({ src: '203.0.113.61', dst, proto: 'tcp', sport: 4061, dport: 80, tcpFlags: TCP_SYN }),
    );
    assert.equal(out.verdictName, 'XDP_TX', `a flow to ${dst}`);
  }
  // A real that leaves hands its totals to its service's carried counters.
  await plane.setService({ vip: '10.61.0.1', port: 80, protocol: 'tcp', scheduler: 'rr' }, [
    real('10.61.0.12', '02:00:00:00:61:12', { forwarding: 'nat', port: 8080 }),
  ]);
}

describe('lending a verified lb_xdp between tests', () => {
  it('gives the same program back with every map as a fresh load leaves it', async () => {
    const seen: LbSkeletonOptions[] = [];
    const first = new SkeletonLender();
    const plane = await open(first, seen);
    const setting = seen[0] as LbSkeletonOptions;
    const fresh = await loadLbSkeleton(setting);
    const second = new SkeletonLender();
    try {
      let ids: Record<string, number>;
      try {
        await dirty(plane);
        ids = Object.fromEntries(
          Object.keys(abi.MAPS).map((k) => [k, plane.map(k as keyof typeof abi.MAPS).info.id]),
        );
        for (const [key, map] of Object.entries(fresh.maps)) {
          const used = plane.map(key as keyof typeof abi.MAPS);
          assert.notDeepEqual(contents(used), contents(map), `the test wrote to ${map.name}`);
        }
      } finally {
        await plane.destroy();
        first.giveBack();
      }
      const lent = await second.load(setting);
      try {
        for (const [key, map] of Object.entries(fresh.maps)) {
          const again = lent.maps[key as keyof typeof abi.MAPS];
          assert.equal(again.info.id, ids[key], `${map.name} is the one lent before`);
          assert.deepEqual(contents(again), contents(map), `${map.name} is as after a fresh load`);
        }
      } finally {
        closeSkeleton(lent);
      }
    } finally {
      closeSkeleton(fresh);
      second.giveBack();
    }
  });

  it('loads another copy while the first is lent, and lends a data plane that works', async () => {
    const seen: LbSkeletonOptions[] = [];
    const lender = new SkeletonLender();
    const a = await open(lender, seen);
    const b = await open(lender, seen);
    try {
      assert.notEqual(a.program.info.id, b.program.info.id, 'two planes in use never share');
      await dirty(a);
      assert.deepEqual(b.services(), [], 'b sees nothing of a');
    } finally {
      await a.destroy();
      await b.destroy();
      lender.giveBack();
    }
    const again = new SkeletonLender();
    const c = await open(again, seen);
    try {
      assert.ok(
        [a.program.info.id, b.program.info.id].includes(c.program.info.id),
        'the program came back from the pool',
      );
      await dirty(c);
    } finally {
      await c.destroy();
      again.giveBack();
    }
  });

  it('lends connection sync with its event ring emptied of what nobody read', async () => {
    const seen: LbSkeletonOptions[] = [];
    const lender = new SkeletonLender();
    let events: BpfMap | undefined;
    const plane = await XdpDataPlane.open({
      instance: 'lender-test',
      pin: false,
      ...small,
      connectionSync: true,
      loadSkeleton: async (options) => {
        seen.push(options);
        const skeleton = await lender.load(options);
        events = skeleton.syncEvents;
        return skeleton;
      },
    });
    const programId = plane.program.info.id;
    try {
      await dirty(plane); // two new flows: two events
      const ring = BpfRingBuffer.open(events as BpfMap);
      try {
        assert.equal(ring.drain(1).length, 1, 'one event read, the other left in the ring');
      } finally {
        ring.close();
      }
    } finally {
      await plane.destroy();
      lender.giveBack();
    }
    const lent = await lender.load(seen[0] as LbSkeletonOptions);
    try {
      assert.equal(lent.program.info.id, programId, 'the same program came back');
      const ring = BpfRingBuffer.open(lent.syncEvents);
      try {
        assert.deepEqual(ring.drain(1 << 20), [], 'no event of the earlier test is left');
      } finally {
        ring.close();
      }
    } finally {
      closeSkeleton(lent);
      lender.giveBack();
    }
  });
});
