/**
 * Someone else removes or replaces what the XDP data plane installed, as an
 * operator (or a script) could with bpftool, ip and rm on bpffs; the
 * supervision check puts back what it can and reports the rest.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { bpffsRoot, bpfObjectPath } from '../../src/bpf/index.js';
import { OWNER_PIN, PinDirectory } from '../../src/dataplane/pin-directory.js';
import type { SupervisionReport } from '../../src/dataplane/supervision.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { withinNamespace } from '../../src/netns/enter.js';
import { run, runIn } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  uniqueName,
} from '../../src/netns/netns.js';
import { teardown } from '../support/teardown.js';

const small = { maxServices: 2, maxReals: 8, connections: 1024, persistenceEntries: 256 };

describe('XDP data-plane supervision', () => {
  const ns = uniqueName('lbsup-');
  const pinRoot = join(bpffsRoot, `lbt-sup-${randomBytes(3).toString('hex')}`);
  const pinDir = join(pinRoot, 'sup');
  let plane: XdpDataPlane;

  const supervise = (): Promise<SupervisionReport> => withinNamespace(ns, () => plane.supervise());
  const xdpProgramId = async (): Promise<number | undefined> => {
    const { stdout } = await runIn(ns, 'ip', ['-j', '-d', 'link', 'show', 'dev', 'veth0']);
    const [link] = JSON.parse(stdout) as { xdp?: { prog?: { id?: number } } }[];
    return link?.xdp?.prog?.id;
  };
  /** The id of the XDP link pinned for veth0. */
  const linkId = async (): Promise<string> => {
    const { stdout } = await run('bpftool', [
      '-j',
      'link',
      'show',
      'pinned',
      join(pinDir, 'link_veth0'),
    ]);
    return String((JSON.parse(stdout) as { id: number }).id);
  };

  before(async () => {
    await createNamespace(ns);
    await createVethPair({ namespace: ns, name: 'veth0' }, { namespace: ns, name: 'veth1' });
    plane = await withinNamespace(ns, () =>
      XdpDataPlane.open({
        instance: 'sup',
        pinRoot,
        interfaces: ['veth0'],
        attachMode: 'native',
        ...small,
      }),
    );
  });
  teardown(async () => {
    try {
      await plane?.destroy();
    } finally {
      await deleteNamespace(ns);
      rmSync(pinRoot, { recursive: true, force: true });
    }
  });

  it('finds nothing to do when nobody touched anything', async () => {
    assert.deepEqual(await supervise(), {
      interfaces: ['veth0'],
      restored: [],
      unrestored: [],
      broken: [],
    });
  });

  it('attaches again after `bpftool link detach`; `ip link set xdp off` is refused by the kernel', async () => {
    await run('bpftool', ['link', 'detach', 'id', await linkId()]);
    assert.equal(await xdpProgramId(), undefined, 'bpftool detached it');
    const report = await supervise();
    assert.deepEqual(report.restored, ['XDP link on veth0 had been detached: attached again']);
    assert.equal(await xdpProgramId(), plane.program.info.id);
    // A bpf_link attachment cannot be removed over netlink (EBUSY): ip fails, XDP stays.
    await assert.rejects(runIn(ns, 'ip', ['link', 'set', 'dev', 'veth0', 'xdp', 'off']));
    assert.equal(await xdpProgramId(), plane.program.info.id);
  });

  it('pins again an unlinked link pin and an unlinked map pin', async () => {
    rmSync(join(pinDir, 'link_veth0'));
    rmSync(join(pinDir, 'lb_services'));
    const report = await supervise();
    assert.deepEqual([...report.restored].sort(), [
      `pin ${join(pinDir, 'lb_services')} had been removed or replaced: pinned again`,
      `pin ${join(pinDir, 'link_veth0')} had been removed or replaced: pinned again`,
    ]);
    assert.ok(existsSync(join(pinDir, 'link_veth0')));
    assert.ok(existsSync(join(pinDir, 'lb_services')));
    assert.deepEqual((await supervise()).restored, []);
  });

  it('makes a removed pin directory again, locked, with every pin back in it', async () => {
    rmSync(pinDir, { recursive: true });
    const report = await supervise();
    assert.equal(
      report.restored[0],
      `pin directory ${pinDir} had been removed or replaced: made again and locked`,
    );
    for (const name of ['link_veth0', 'lb_services', 'lb_conns', OWNER_PIN])
      assert.ok(existsSync(join(pinDir, name)), name);
    assert.throws(
      () => PinDirectory.prepare(pinDir),
      (err) => hasCode(err, 'DATAPLANE_PIN_DIR_IN_USE'),
    );
    assert.deepEqual((await supervise()).restored, []);
  });

  it('reports the interface broken while another XDP program holds it, and restores when it goes', async () => {
    await run('bpftool', ['link', 'detach', 'id', await linkId()]);
    await runIn(ns, 'ip', [
      'link',
      'set',
      'dev',
      'veth0',
      'xdpdrv',
      'obj',
      bpfObjectPath('baseline'),
      'sec',
      'xdp',
    ]);
    const report = await supervise();
    assert.equal(report.broken.length, 1);
    assert.equal(report.broken[0]?.interface, 'veth0');
    assert.notEqual(await xdpProgramId(), plane.program.info.id);
    await runIn(ns, 'ip', ['link', 'set', 'dev', 'veth0', 'xdp', 'off']);
    const after = await supervise();
    assert.deepEqual(after.broken, []);
    assert.deepEqual(after.restored, ['XDP link on veth0 had been detached: attached again']);
    assert.equal(await xdpProgramId(), plane.program.info.id);
  });

  it('reports the interface broken once it is deleted', async () => {
    await runIn(ns, 'ip', ['link', 'del', 'veth0']);
    const report = await supervise();
    assert.equal(report.broken[0]?.interface, 'veth0');
    assert.match(report.broken[0]?.reason ?? '', /veth0/);
  });
});
