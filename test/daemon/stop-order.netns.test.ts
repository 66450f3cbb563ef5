/**
 * A graceful stop hands over before it stops forwarding, as keepalived's
 * does: the daemon `lbctl up` builds (buildServices, its stop order), with
 * VRRP on real sockets and netlink in a namespace and the virtual servers on
 * an in-memory data plane that records what the host looked like when it
 * was destroyed. By then the master must have sent priority 0 and released
 * the VIP; the other way round, packets still reaching this host for a VIP it
 * holds would meet its own stack once IPVS services are gone (or XDP is
 * detached), which resets them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { buildServices } from '../../src/daemon/build.js';
import { ConnectionSyncService } from '../../src/daemon/connection-sync-service.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { VrrpService } from '../../src/daemon/vrrp-service.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { silentLogger } from '../../src/log.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { deleteNamespace, uniqueName } from '../../src/netns/netns.js';
import { systemClock } from '../../src/time/clock.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { namespaceDirector } from './support/namespace-director.js';

describe('graceful stop order', () => {
  const ns = uniqueName('lbso');
  teardown(() => deleteNamespace(ns));

  it('a master sends priority 0 and releases the VIP before its data plane is destroyed', async () => {
    const { config, host, vipHeld } = await namespaceDirector(ns, '10.71.0', {
      vrid: 71,
      vrrpSettings: '  state MASTER\n  priority 255\n  advert_int 1\n',
    });
    /** The master's counters (the same object while it stops). */
    let counters: { priorityZeroSent: number } | undefined;
    /** What the host looked like when the data plane was destroyed. */
    let atDestroy: { vipHeld: boolean; priorityZeroSent: number } | undefined;
    const plane = new (class extends MemoryDataPlane {
      override async destroy(): Promise<void> {
        atDestroy = {
          vipHeld: await vipHeld(),
          priorityZeroSent: counters?.priorityZeroSent ?? 0,
        };
        await super.destroy();
      }
    })();
    const { services, stopOrder } = buildServices({
      config,
      logger: silentLogger(),
      clock: systemClock,
      openHost: async () => host,
      dataPlanes: async () => plane,
    });
    const vrrp = services.find((s): s is VrrpService => s instanceof VrrpService);
    assert.ok(vrrp !== undefined, 'the daemon runs VRRP');

    const daemon = new Daemon(services, silentLogger(), { stopOrder });
    await withinNamespace(ns, () => daemon.start());
    try {
      await waitFor('VRRP master holding the VIP', vipHeld, { timeoutMs: 10_000 });
      assert.equal(plane.services().length, 1, 'the virtual server is in the data plane');
      counters = vrrp.engine?.instances[0]?.counters;
      assert.equal(counters?.priorityZeroSent, 0);
    } finally {
      await daemon.close();
    }
    assert.equal(plane.lifecycle, 'destroyed');
    assert.deepEqual(atDestroy, { vipHeld: false, priorityZeroSent: 1 });
  });

  it('connection sync stops before VRRP, so a master on IPVS sends its table while it holds the VIP', () => {
    const { config } = parseConfigText(
      `global_defs {
    lvs_sync_daemon eth0 VI_1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.71.1.100/32
    }
}
virtual_server 10.71.1.100 80 {
    lb_kind DR
    protocol TCP
    real_server 10.71.1.11 80 {
    }
}
`,
      'sync.conf',
    );
    const { stopOrder } = buildServices({
      config,
      logger: silentLogger(),
      clock: systemClock,
      openHost: async () => {
        throw new Error('not started');
      },
      dataPlanes: async () => new MemoryDataPlane(),
    });
    const sync = stopOrder.findIndex((s) => s instanceof ConnectionSyncService);
    const vrrp = stopOrder.findIndex((s) => s instanceof VrrpService);
    assert.ok(sync >= 0 && vrrp >= 0, stopOrder.map((s) => s.name).join(', '));
    assert.ok(sync < vrrp, stopOrder.map((s) => s.name).join(', '));
  });
});
