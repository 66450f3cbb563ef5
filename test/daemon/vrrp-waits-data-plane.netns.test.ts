/**
 * At start VRRP runs before the virtual servers (so ha_suspend servers can
 * follow its states), but must not take a VIP before the data plane forwards
 * it: until then packets for the VIP would meet this host's own stack, which
 * resets TCP. The daemon `lbctl up` builds (buildServices), with VRRP on real
 * sockets and netlink in a namespace and the virtual servers on an in-memory
 * data plane whose opening the test holds back, as a slow XDP load would
 * (1–2 s on a host, 13 s on Debian 12's kernel under emulation). Meanwhile
 * the instance stays in INIT, as keepalived's vrrp_startup_delay holds it:
 * no VIP on the interface, no advert on the wire, no notify script run; once
 * the data plane is open and its services are in, the instance starts
 * (one transition out of INIT) and takes the VIP.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildServices } from '../../src/daemon/build.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { VirtualServerService } from '../../src/daemon/virtual-server-service.js';
import { VrrpService } from '../../src/daemon/vrrp-service.js';
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { silentLogger } from '../../src/log.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { spawnIn } from '../../src/netns/exec.js';
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
    const scratch = mkdtempSync(join(tmpdir(), 'lbctl-vrrp-wait-'));
    teardown(() => rmSync(scratch, { recursive: true, force: true }));

    it(`${title} holds no VIP until the virtual servers run, and takes it right after`, async (t) => {
      // keepalived's generic notify: one line per state the instance announces.
      const notified = join(scratch, 'notified');
      const notifyScript = join(scratch, 'notify.sh');
      writeFileSync(notifyScript, `#!/bin/sh\necho "$*" >> ${notified}\n`);
      chmodSync(notifyScript, 0o755);
      const notifications = () => {
        try {
          return readFileSync(notified, 'utf8').trim().split('\n');
        } catch {
          return [];
        }
      };
      const vrid = 72 + index;
      const { config, host, vipHeld } = await namespaceDirector(ns, '10.72.0', {
        vrid,
        vrrpSettings: `${settings}  notify ${notifyScript}\n`,
        virtualServerSettings: '  ha_suspend\n',
      });
      // Every advert on the segment, as the peer end sees it, with its time.
      const capture = spawnIn(
        ns,
        'tcpdump',
        ['-i', 'v1', '-n', '-tt', '-l', '--immediate-mode', 'vrrp'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      t.after(() => capture.kill('SIGTERM'));
      let wire = '';
      let captureLog = '';
      capture.stdout?.on('data', (d) => {
        wire += String(d);
      });
      capture.stderr?.on('data', (d) => {
        captureLog += String(d);
      });
      await waitFor('the capture to listen', () => captureLog.includes('listening on'), {
        timeoutMs: 10_000 * SLOWDOWN,
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
      // The daemon starts VRRP before the virtual servers: asked for a data plane, VRRP has started.
      let vrrpStarted = false;
      const { services, stopOrder } = buildServices({
        config,
        logger: silentLogger(),
        clock: systemClock,
        openHost: async () => host,
        dataPlanes: async () => {
          vrrpStarted = true;
          await opened;
          return plane;
        },
      });
      const vrrp = services.find((s): s is VrrpService => s instanceof VrrpService);
      const virtualServers = services.find(
        (s): s is VirtualServerService => s instanceof VirtualServerService,
      );
      assert.ok(vrrp !== undefined && virtualServers !== undefined);
      const status = async () => (await vrrp.instanceStatus())[0];

      const daemon = new Daemon(services, silentLogger(), { stopOrder });
      const started = withinNamespace(ns, () => daemon.start());
      try {
        await waitFor(
          'VRRP started, the virtual servers opening the data plane',
          () => vrrpStarted,
          {
            timeoutMs: 10_000 * SLOWDOWN,
          },
        );
        // Long enough for either instance to have taken the VIP had it not waited.
        const until = Date.now() + SLOW_START_MS;
        while (Date.now() < until) {
          assert.equal(await vipHeld(), false, 'no VIP while the data plane is not open');
          assert.equal((await status())?.state, 'INIT');
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal((await status())?.lastTransition, undefined, 'no transition while held');
        assert.equal(vrrp.engine?.instances[0]?.counters.advertsSent, 0);
        assert.deepEqual(notifications(), [], 'no notify script while held');
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
        assert.equal((await status())?.state, 'MASTER');
        assert.deepEqual(
          {
            from: (await status())?.lastTransition?.from,
            reason: (await status())?.lastTransition?.reason,
          },
          index === 0
            ? { from: 'INIT', reason: 'address owner (priority 255) starting' }
            : { from: 'BACKUP', reason: 'master down timer expired' },
        );
        // One start out of INIT: MASTER at once for the owner, BACKUP then MASTER for the other.
        const expected = index === 0 ? ['MASTER'] : ['BACKUP', 'MASTER'];
        await waitFor(
          'the notify script for each state',
          () => notifications().length >= expected.length,
          {
            timeoutMs: 5000 * SLOWDOWN,
          },
        );
        assert.deepEqual(
          notifications().map((line) => line.split(' ').slice(0, 3).join(' ')),
          expected.map((state) => `INSTANCE VI_1 ${state}`),
        );
        // The capture works (it sees the master's adverts) and saw none before the data plane opened.
        await waitFor('adverts on the wire', () => wire.includes(`vrid ${vrid}`), {
          timeoutMs: 5000 * SLOWDOWN,
        });
        const advertTimes = [...wire.matchAll(/^(\d+\.\d+) .*VRRP/gm)].map(
          (m) => Number(m[1]) * 1000,
        );
        assert.ok(advertTimes.length > 0, wire);
        assert.ok(
          advertTimes.every((at) => at >= openedAt - 50),
          `first advert ${Math.min(...advertTimes) - openedAt} ms after the data plane opened`,
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
