/**
 * At start VRRP runs before the virtual servers (so ha_suspend servers can
 * follow its states), but must not take a VIP before the data plane forwards
 * it: until then packets for the VIP would meet this host's own stack, which
 * resets TCP. The daemon `lbctl up` builds (buildServices), with VRRP on real
 * sockets and netlink in a namespace and the virtual servers on an in-memory
 * data plane whose opening the test holds back, as a slow XDP load would
 * (1–2 s on a host, 13 s on Debian 12's kernel under emulation). Meanwhile
 * the instance waits in FAULT and the VIP stays off the interface; once the
 * data plane is open and its services are in, the instance takes the VIP.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildServices } from '../../src/daemon/build.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { VirtualServerService } from '../../src/daemon/virtual-server-service.js';
import { VrrpService } from '../../src/daemon/vrrp-service.js';
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { silentLogger } from '../../src/log.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { deleteNamespace, uniqueName } from '../../src/netns/netns.js';
import { systemClock } from '../../src/time/clock.js';
import { SLOWDOWN } from '../support/slowdown.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { namespaceDirector } from './support/namespace-director.js';

/** How long the test holds the data plane back: well past a backup's 0.36 s master-down interval. */
const SLOW_START_MS = 1500;

interface Case {
  readonly title: string;
  /** The vrrp_instance's settings besides interface, VRID and VIPs. */
  readonly settings: string;
}

const CASES: readonly Case[] = [
  {
    title: 'an address owner (priority 255, MASTER at once)',
    settings: '  state MASTER\n  priority 255\n  advert_int 1\n',
  },
  {
    title: 'a backup whose master-down interval (0.36 s) ends first',
    settings: '  state BACKUP\n  priority 100\n  version 3\n  advert_int 0.1\n',
  },
];

describe('VRRP waits for the data plane at start', () => {
  for (const [index, { title, settings }] of CASES.entries()) {
    const ns = uniqueName('lbwd');
    teardown(() => deleteNamespace(ns));

    it(`${title} holds no VIP until the virtual servers run, and takes it right after`, async (t) => {
      const { config, host, vipHeld } = await namespaceDirector(ns, '10.72.0', {
        vrid: 72 + index,
        vrrpSettings: settings,
        virtualServerSettings: '  ha_suspend\n',
      });
      /** Whether the host held the VIP when the first service went into the data plane. */
      let heldAtFirstService: boolean | undefined;
      const plane = new (class extends MemoryDataPlane {
        override async setService(service: ServiceSpec, reals: readonly RealSpec[]) {
          heldAtFirstService ??= await vipHeld();
          await super.setService(service, reals);
        }
      })();
      let open: () => void = () => undefined;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      const { services, stopOrder } = buildServices({
        config,
        logger: silentLogger(),
        clock: systemClock,
        openHost: async () => host,
        dataPlanes: async () => {
          await opened;
          return plane;
        },
      });
      const vrrp = services.find((s): s is VrrpService => s instanceof VrrpService);
      const virtualServers = services.find(
        (s): s is VirtualServerService => s instanceof VirtualServerService,
      );
      assert.ok(vrrp !== undefined && virtualServers !== undefined);
      const status = () => vrrp.instanceStatus()[0];

      const daemon = new Daemon(services, silentLogger(), { stopOrder });
      const started = withinNamespace(ns, () => daemon.start());
      try {
        await waitFor('VRRP instance past INIT', () => (status()?.state ?? 'INIT') !== 'INIT', {
          timeoutMs: 10_000 * SLOWDOWN,
        });
        // Long enough for either instance to have taken the VIP had it not waited.
        const until = Date.now() + SLOW_START_MS;
        while (Date.now() < until) {
          assert.equal(await vipHeld(), false, 'no VIP while the data plane is not open');
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(status()?.state, 'FAULT');
        assert.equal(status()?.lastTransition?.reason, 'waiting for the data plane to start');
        assert.equal(plane.services().length, 0);

        const openedAt = Date.now();
        open();
        await started;
        await waitFor('the VIP, once the data plane runs', vipHeld, {
          timeoutMs: 5000 * SLOWDOWN,
        });
        t.diagnostic(`VIP held ${Date.now() - openedAt} ms after the data plane opened`);
        assert.equal(heldAtFirstService, false, 'the service was in before the VIP');
        assert.equal(plane.services().length, 1);
        assert.equal(status()?.state, 'MASTER');
        assert.deepEqual(
          { from: status()?.lastTransition?.from, reason: status()?.lastTransition?.reason },
          index === 0
            ? { from: 'FAULT', reason: 'data plane ready' }
            : { from: 'BACKUP', reason: 'master down timer expired' },
        );
        // ha_suspend: the virtual server's checks follow the instance, now MASTER.
        assert.equal(virtualServers.virtualServerStates()[0]?.suspended, false);
      } finally {
        open();
        await started.catch(() => undefined);
        await daemon.close();
      }
    });
  }
});
