import { afterEach, before } from 'node:test';
import { teardown } from '../../support/teardown.js';
import { LbctlDaemon } from './daemons.js';
import { Lab } from './lab.js';

/** A lab whose lbctl daemons are killed after each test; the lab goes after the suite. */
export interface DaemonLab {
  readonly lab: Lab;
  /** Starts nothing: a daemon for `role`'s namespace with its own state directory. */
  node(role: string): LbctlDaemon;
  /** Starts d1 at priority 150 and d2 at 100 and waits until both are up, then for d1 MASTER, d2 BACKUP. */
  electPair(conf: (priority: number) => string): Promise<[LbctlDaemon, LbctlDaemon]>;
}

/** Registers the suite's hooks; call it inside `describe`. */
export function daemonLab(prefix: string, hosts: Record<string, string>): DaemonLab {
  let lab: Lab | undefined;
  const daemons: LbctlDaemon[] = [];
  const stopAll = async () => {
    for (const d of daemons.splice(0)) await d.stop('SIGKILL');
  };
  before(async () => {
    lab = await Lab.create(prefix, hosts);
  });
  afterEach(stopAll);
  teardown(async () => {
    await stopAll();
    await lab?.close();
  });
  const site: DaemonLab = {
    get lab(): Lab {
      if (lab === undefined) throw new Error('the lab is not built yet');
      return lab;
    },
    node(role: string): LbctlDaemon {
      const d = new LbctlDaemon(
        role,
        site.lab.host(role).namespace,
        `${site.lab.dir}/${role}-${daemons.length}`,
      );
      daemons.push(d);
      return d;
    },
    async electPair(conf) {
      const d1 = site.node('d1');
      const d2 = site.node('d2');
      d1.start(conf(150));
      d2.start(conf(100));
      // The election's bounds time VRRP, not how long the processes take to start.
      await Promise.all([d1.waitUntilUp(), d2.waitUntilUp()]);
      await d1.waitForState('VI_1', 'MASTER', 5000);
      await d2.waitForState('VI_1', 'BACKUP', 5000);
      return [d1, d2];
    },
  };
  return site;
}
