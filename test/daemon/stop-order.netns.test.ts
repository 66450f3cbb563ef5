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
import { Daemon } from '../../src/daemon/daemon.js';
import { VrrpService } from '../../src/daemon/vrrp-service.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { silentLogger } from '../../src/log.js';
import { MemoryHostNetwork } from '../../src/netlink/testing/memory-host-network.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { runIn } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { systemClock } from '../../src/time/clock.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const VIP = '10.71.0.100';

describe('graceful stop order', () => {
  const ns = uniqueName('lbso');
  teardown(() => deleteNamespace(ns));

  it('a master sends priority 0 and releases the VIP before its data plane is destroyed', async () => {
    await createNamespace(ns);
    await createVethPair(
      { namespace: ns, name: 'v0', address: '10.71.0.1/24' },
      { namespace: ns, name: 'v1' },
    );
    const { config } = parseConfigText(
      `global_defs {\n  lbctl_instance_name ${ns}\n}\n` +
        'vrrp_instance VI_1 {\n  state MASTER\n  interface v0\n  virtual_router_id 71\n' +
        `  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n` +
        `virtual_server ${VIP} 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n` +
        '  real_server 10.71.0.11 80 {\n    weight 1\n  }\n}\n',
      'keepalived.conf',
    );
    const host = new MemoryHostNetwork();
    host.addLink('v0', '02:00:00:00:00:01');
    host.addAddress('v0', '10.71.0.1/24');
    host.answering.set('10.71.0.11', '02:00:00:00:00:11');

    const vipHeld = async () => {
      const { stdout } = await runIn(ns, 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'v0']);
      return stdout.includes(` ${VIP}/`);
    };
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
});
