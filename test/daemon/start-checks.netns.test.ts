import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { withinNamespace } from '../../src/netns/enter.js';
import { runIn } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { runBounded } from '../support/bounded-run.js';
import { lbctlCommand } from '../support/cli.js';
import { teardown } from '../support/teardown.js';

/**
 * Start-up checks come before anything another host can see: with the
 * metrics port already taken, `lbctl up` must fail without ever announcing
 * itself as VRRP master or adding its virtual address.
 */
describe('lbctl up start-up checks', () => {
  const ns = uniqueName('lbsc');
  let dir: string;
  let busy: Server;
  const port = 19_000 + Math.floor(Math.random() * 1000);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lbctl-startchk-'));
    await createNamespace(ns);
    await createVethPair(
      { namespace: ns, name: 'v0', address: '10.77.0.1/24' },
      { namespace: ns, name: 'v1' },
    );
    busy = await withinNamespace(ns, () => {
      const server = createServer();
      return new Promise<Server>((resolve) =>
        server.listen(port, '127.0.0.1', () => resolve(server)),
      );
    });
  });
  teardown(async () => {
    busy?.close();
    await deleteNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a metrics port in use stops the start before VRRP goes MASTER', async () => {
    const config = join(dir, 'keepalived.conf');
    writeFileSync(
      config,
      `global_defs {\n  lbctl_instance_name ${ns}\n  lbctl_metrics_listen 127.0.0.1:${port}\n}\n` +
        'vrrp_instance VI_1 {\n  state MASTER\n  interface v0\n  virtual_router_id 77\n' +
        '  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    10.77.0.100/24\n  }\n}\n',
    );
    const runDir = join(dir, 'run');
    // Bounded: were the check late, the daemon would run on; it is killed.
    const { code, output } = await runBounded(
      process.execPath,
      [...lbctlCommand(), 'up', config, '--run-dir', runDir],
      { timeoutMs: 20_000, namespace: ns },
    );
    assert.notEqual(code, 0, output);
    assert.match(output, /Cannot serve metrics on 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(output, /entering MASTER state/);
    const { stdout } = await runIn(ns, 'ip', ['-o', 'addr', 'show', 'dev', 'v0']);
    assert.doesNotMatch(stdout, /10\.77\.0\.100/);
    assert.deepEqual(readdirSync(runDir), [], 'the pid file is gone');
  });
});
