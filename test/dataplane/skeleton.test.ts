import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bpfObjectPath } from '../../src/bpf/index.js';
import * as abi from '../../src/dataplane/abi.js';
import { loadLbSkeleton } from '../../src/dataplane/xdp/skeleton.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { MemoryHostNetwork } from '../../src/netlink/testing/memory-host-network.js';
import { real, testPlane } from './support/harness.js';

const WEB = { vip: '10.41.0.1', port: 80, protocol: 'tcp', scheduler: 'rr' } as const;

describe('the lb program as a typed skeleton', () => {
  it('refuses an object whose rodata does not match, naming the variable', async () => {
    await assert.rejects(
      XdpDataPlane.open({
        instance: 'skeleton-test',
        pin: false,
        objectPath: bpfObjectPath('baseline'),
      }),
      (err: Error) =>
        hasCode(err, 'DATAPLANE_ABI_MISMATCH') &&
        /rodata variable lb_malformed_verdict/.test(err.message),
    );
  });

  it("leaves connection sync's learn program out of the load when sync is off", async () => {
    // lb_sync_learn costs the verifier more than lb_xdp: a start without sync skips it.
    const skeleton = await loadLbSkeleton({
      rodata: {
        malformedVerdict: 2,
        fragmentVerdict: 2,
        sloppyTcp: 0,
        syncEnabled: 0,
        connSetShift: 32,
        serviceSetShift: 32,
        nsPerJiffy: 0,
      },
      maxEntries: { conns: 1, nat: 8, persist: 8 },
    });
    try {
      assert.equal(skeleton.syncLearn, undefined);
      assert.equal(skeleton.program.name, 'lb_xdp');
    } finally {
      for (const map of Object.values(skeleton.maps)) map.close();
      skeleton.program.close();
      skeleton.syncEvents.close();
    }
  });

  it('takes egress links from the directory it is given, with no netlink lookup per write', async (t) => {
    const directory = new MemoryHostNetwork();
    // Index 1 is the loopback of every namespace; the name is the directory's own.
    directory.addLink('uplink', '02:00:00:00:41:00', 1);
    const plane = await testPlane(t, { links: directory });
    await plane.setService(WEB, [
      {
        ...real('10.41.0.10', '02:00:00:00:41:10'),
        via: { interface: 'uplink', mac: '02:00:00:00:41:10' },
      },
    ]);
    const written = [...plane.map('reals').entries()]
      .map(([, v]) => abi.real.decode(v))
      .find((r) => (r.flags & abi.REAL_F_ACTIVE) !== 0);
    assert.equal(written?.ifindex, 1);
    assert.equal(written?.src_mac, '02:00:00:00:41:00');
    await assert.rejects(
      plane.setService(WEB, [
        {
          ...real('10.41.0.10', '02:00:00:00:41:10'),
          via: { interface: 'gone0', mac: '02:00:00:00:41:10' },
        },
      ]),
      (err: Error) => hasCode(err, 'DATAPLANE_NO_SUCH_INTERFACE') && /gone0/.test(err.message),
    );
  });
});
