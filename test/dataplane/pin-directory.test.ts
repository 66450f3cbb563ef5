import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BpfMap, bpffsRoot } from '../../src/bpf/index.js';
import { OWNER_PIN, PinDirectory, readPinOwner } from '../../src/dataplane/pin-directory.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { hasCode } from '../../src/errors.js';
import { currentNetworkNamespace, namespaceName } from '../../src/netns/identity.js';

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
    pins.release();
    const again = PinDirectory.prepare(join(root, 'fresh'));
    assert.equal(again.created, false);
    again.release();
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

  it('locks the pin directory: a second holder is refused until the first releases it', () => {
    const dir = join(root, 'locked');
    const first = PinDirectory.prepare(dir);
    assert.deepEqual(readPinOwner(dir), { pid: process.pid, netns: currentNetworkNamespace() });
    assert.throws(
      () => PinDirectory.prepare(dir),
      (err) =>
        hasCode(err, 'DATAPLANE_PIN_DIR_IN_USE') &&
        String(err).includes(
          `lbctl pid ${process.pid} holds it in this network namespace (${namespaceName(currentNetworkNamespace())})`,
        ),
    );
    first.release();
    PinDirectory.prepare(dir).release();
  });

  it('refuses pins whose links still serve another network namespace, takes over when they are gone', () => {
    const dir = join(root, 'foreign');
    PinDirectory.prepare(dir).release();
    // What a daemon in another namespace leaves: its pid and its namespace's identity.
    const foreign = { pid: 4242, netns: { inode: 1n, device: 4n } };
    const record = BpfMap.openPinned(join(dir, OWNER_PIN));
    const value = Buffer.alloc(24);
    value.writeBigUInt64LE(1n, 0);
    value.writeBigUInt64LE(4n, 8);
    value.writeUInt32LE(4242, 16);
    record.update(Buffer.alloc(4), value);
    record.close();
    assert.throws(
      () => PinDirectory.prepare(dir, { attachedLinks: () => 2 }),
      (err) =>
        hasCode(err, 'DATAPLANE_PIN_DIR_IN_USE') &&
        String(err).includes(
          `belong to lbctl pid 4242 in network namespace net:[1], and this lbctl runs in ${namespaceName(currentNetworkNamespace())}`,
        ),
    );
    // The refusal left the record alone.
    assert.deepEqual(readPinOwner(dir), foreign);
    const taken = PinDirectory.prepare(dir, { attachedLinks: () => 0 });
    assert.deepEqual(taken.replacedOwner, foreign);
    taken.release();
  });
});
