import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bpffsRoot } from '../../src/bpf/index.js';
import { PinDirectory } from '../../src/dataplane/pin-directory.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';

const small = { maxServices: 2, maxReals: 8, connections: 1024, persistenceEntries: 256 };

/**
 * bpffs is world-writable (1777): a pin directory another user made or may
 * write must be refused, and a failed start must leave no pins behind.
 */
describe('pin directory safety', () => {
  // A root of the test's own under bpffs, like the default /sys/fs/bpf/lbctl.
  const root = join(bpffsRoot, `lbt-pindir-${randomBytes(3).toString('hex')}`);
  after(() => rmSync(root, { recursive: true, force: true }));

  const refused = (err: unknown, pattern: RegExp) =>
    hasCode(err, 'DATAPLANE_UNSAFE_PIN_DIR') && pattern.test(String(err));

  it('creates a missing pin directory private to root', () => {
    const pins = PinDirectory.prepare(join(root, 'fresh'));
    assert.equal(pins.created, true);
    assert.equal(PinDirectory.prepare(join(root, 'fresh')).created, false);
  });

  it('refuses a pin directory another user created beforehand', async () => {
    const instance = 'byuser';
    mkdirSync(join(root, instance), { recursive: true, mode: 0o755 });
    chownSync(join(root, instance), 65534, 65534);
    await assert.rejects(XdpDataPlane.open({ instance, pinRoot: root, ...small }), (err) =>
      refused(err, /byuser: it is owned by uid 65534/),
    );
    assert.equal(existsSync(join(root, instance, 'lb_services')), false, 'nothing pinned there');
  });

  it('refuses a pin directory others may write, or a symbolic link', () => {
    mkdirSync(join(root, 'open'), { recursive: true });
    chmodSync(join(root, 'open'), 0o777);
    assert.throws(
      () => PinDirectory.prepare(join(root, 'open')),
      (err) => refused(err, /it is writable by everyone/),
    );
    mkdirSync(join(root, 'grp'));
    chmodSync(join(root, 'grp'), 0o770);
    assert.throws(
      () => PinDirectory.prepare(join(root, 'grp')),
      (err) => refused(err, /it is writable by its group/),
    );
    symlinkSync(join(root, 'fresh'), join(root, 'link'));
    assert.throws(
      () => PinDirectory.prepare(join(root, 'link')),
      (err) => refused(err, /it is a symbolic link/),
    );
  });

  it('refuses a pin root another user owns, even when the instance directory is fine', () => {
    const userRoot = join(root, 'userroot');
    mkdirSync(join(userRoot, 'inst'), { recursive: true, mode: 0o700 });
    chownSync(userRoot, 65534, 65534);
    assert.throws(
      () => PinDirectory.prepare(join(userRoot, 'inst')),
      (err) => refused(err, /userroot: it is owned by uid 65534/),
    );
  });

  it('a start that fails after pinning leaves no pins behind', async () => {
    const instance = 'failed';
    await assert.rejects(
      XdpDataPlane.open({
        instance,
        pinRoot: root,
        interfaces: [`nx${randomBytes(3).toString('hex')}`],
        ...small,
      }),
    );
    assert.equal(existsSync(join(root, instance)), false);
  });
});
