import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { BpfLink, BpfObject, bpfObjectPath, pinRoot } from '../../src/bpf/index.js';
import { counterPins, readPinnedCounters } from '../../src/counter/counter.js';
import { run, runIn } from '../../src/netns/exec.js';
import {
  createNamespace,
  createVethPair,
  deleteNamespace,
  namespaceExists,
  uniqueName,
} from '../../src/netns/netns.js';
import { lbctlCommand } from '../support/cli.js';
import { teardown } from '../support/teardown.js';

/**
 * The counter attached in native mode to a veth inside a namespace, by a
 * separate `lbctl counter attach` process that exits; real pings from the
 * peer namespace; counters read back through the pinned map from this
 * process.
 */
describe('XDP attached to a veth in a network namespace', () => {
  const director = uniqueName('lbt-d-');
  const client = uniqueName('lbt-c-');
  const pinDir = join(pinRoot, uniqueName('test-attach-'));
  const pins = counterPins(pinDir);

  before(async () => {
    await createNamespace(director);
    await createNamespace(client);
    await createVethPair(
      { namespace: director, name: 'xdp0', address: '10.231.0.1/24' },
      { namespace: client, name: 'cli0', address: '10.231.0.2/24' },
    );
  });

  teardown(async () => {
    // Cleanup runs even when a test failed: namespaces (and their veths and
    // XDP links) and pins must not outlive the test.
    await deleteNamespace(director);
    await deleteNamespace(client);
    rmSync(pinDir, { recursive: true, force: true });
    assert.equal(namespaceExists(director), false);
    assert.equal(existsSync(pinDir), false);
  });

  it('attaches in native mode from a process that exits, leaving a pinned link', async () => {
    const { stdout } = await runIn(director, process.execPath, [
      ...lbctlCommand(),
      'counter',
      'attach',
      '--interface',
      'xdp0',
      '--mode',
      'native',
      '--pin-dir',
      pinDir,
    ]);
    assert.deepEqual(JSON.parse(stdout), {
      interface: 'xdp0',
      mode: 'native',
      link: pins.linkPath,
      map: pins.mapPath,
    });
    const { stdout: link } = await runIn(director, 'ip', ['link', 'show', 'xdp0']);
    assert.match(link, /prog\/xdp id \d+/, 'the program stays attached after the process exited');
  });

  it('counts real packets sent from the peer namespace', async () => {
    const before = readPinnedCounters(pinDir);
    await runIn(client, 'ping', ['-c', '5', '-i', '0.05', '-W', '1', '10.231.0.1'], {
      timeoutMs: 10_000,
    });
    const after = readPinnedCounters(pinDir);
    assert.ok(after.ipv4.packets - before.ipv4.packets >= 5n, 'five echo requests at least');
    assert.ok(after.ipv4.bytes - before.ipv4.bytes >= 5n * 98n, 'ICMP echo frames are 98 bytes');
  });

  it('sees the same counts through the CLI in another process', async () => {
    const { stdout } = await run(process.execPath, [
      ...lbctlCommand(),
      'counter',
      'show',
      '--json',
      '--pin-dir',
      pinDir,
    ]);
    const shown = JSON.parse(stdout) as Record<string, { packets: number }>;
    assert.equal(BigInt(shown.ipv4?.packets ?? -1), readPinnedCounters(pinDir).ipv4.packets);
  });

  it('replaces the attached program atomically through the pinned link', async () => {
    const link = BpfLink.openPinned(pins.linkPath);
    const replacement = BpfObject.open(bpfObjectPath('counter'));
    try {
      replacement.reusePinnedMap('counters', pins.mapPath);
      await replacement.load();
      const program = replacement.program('xdp_count');
      const before = link.info().programId;
      link.update(program);
      assert.equal(link.info().programId, program.info.id);
      assert.notEqual(before, program.info.id);
      program.close();
    } finally {
      replacement.close();
      link.close();
    }
    const before = readPinnedCounters(pinDir).ipv4.packets;
    await runIn(client, 'ping', ['-c', '2', '-i', '0.05', '-W', '1', '10.231.0.1'], {
      timeoutMs: 10_000,
    });
    assert.ok(
      readPinnedCounters(pinDir).ipv4.packets - before >= 2n,
      'the new program shares the pinned map',
    );
  });

  it('detaches through the pinned link; counters stop rising', async () => {
    await run(process.execPath, [...lbctlCommand(), 'counter', 'detach', '--pin-dir', pinDir]);
    assert.equal(existsSync(pins.linkPath), false);
    const { stdout: link } = await runIn(director, 'ip', ['link', 'show', 'xdp0']);
    assert.doesNotMatch(link, /prog\/xdp/);
  });
});
