import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredServiceState } from '../../src/health/desired-state.js';
import type { RealServerOptions, VirtualServerHealthOptions } from '../../src/health/options.js';
import { VirtualServerHealth } from '../../src/health/virtual-server-health.js';
import { RecordingScripts } from './recording-scripts.js';

const SCRIPTS = {
  quorumUp: { command: '/etc/lbctl/quorum-up' },
  quorumDown: { command: '/etc/lbctl/quorum-down' },
};

function real(last: number, extra: Partial<RealServerOptions> = {}): RealServerOptions {
  return {
    address: `10.0.0.${last}`,
    port: 80,
    forwarding: 'dr',
    checkers: [{ type: 'TCP_CHECK' }],
    notifyUp: { command: `/bin/up ${last}` },
    notifyDown: { command: `/bin/down ${last}` },
    ...extra,
  };
}

/** A service whose reals each have one check "<addr>:80/0", all starting up unless alpha. */
function service(
  options: Partial<VirtualServerHealthOptions> & { reals: RealServerOptions[] },
  previousQuorumUp?: boolean,
) {
  const scripts = new RecordingScripts();
  const health = new VirtualServerHealth(
    { name: '192.0.2.1:80', ...SCRIPTS, ...options },
    { scripts },
  );
  for (const r of options.reals) {
    const key = VirtualServerHealth.realKey(r.address, r.port);
    r.checkers.forEach((_, i) => {
      health.registerCheck(key, `${key}/${i}`, { up: !(options.alpha ?? false) });
    });
  }
  const states: DesiredServiceState[] = [];
  health.onChange((s) => states.push(s));
  health.start(previousQuorumUp);
  const set = (last: number, up: boolean, extra: { weight?: number; check?: number } = {}) =>
    health.applyCheckEvent({
      id: `10.0.0.${last}:80/${extra.check ?? 0}`,
      real: `10.0.0.${last}:80`,
      up,
      ...(up ? {} : { reason: 'connection refused' }),
      ...(extra.weight !== undefined ? { weight: extra.weight } : {}),
    });
  return { health, scripts, states, set };
}

const weights = (s: DesiredServiceState) => s.reals.map((r) => `${r.address}=${r.weight}`);

describe('virtual server health', () => {
  it('starts with every live real at its weight and quorum up', () => {
    const { health, scripts } = service({ reals: [real(1, { weight: 3 }), real(2)] });
    assert.deepEqual(health.current(), {
      reals: [
        { address: '10.0.0.1', port: 80, forwarding: 'dr', weight: 3 },
        { address: '10.0.0.2', port: 80, forwarding: 'dr', weight: 1 },
      ],
      quorumUp: true,
    });
    assert.ok(Object.isFrozen(health.current()));
    assert.ok(Object.isFrozen(health.current().reals[0]));
    assert.deepEqual(scripts.kinds(), ['quorum_up']);
  });

  it('reports each real and check with the time its verdict last flipped', async () => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    const before = Date.now();
    const { health, set } = service({ reals: [real(1), real(2)] });
    const changedAt = (i: number) => health.realHealth()[i]!.checks[0]!.changedAtMs;
    const started = changedAt(0);
    // Each real is stamped when registered: the two stamps may be a millisecond apart.
    const otherStarted = changedAt(1);
    assert.ok(started >= before && started <= Date.now());
    await pause();
    set(1, false);
    const [first, second] = health.realHealth();
    assert.equal(first!.alive, false);
    assert.equal(second!.alive, true);
    assert.deepEqual(
      first!.checks.map(({ index, type, up }) => ({ index, type, up })),
      [{ index: 0, type: 'TCP_CHECK', up: false }],
    );
    const down = changedAt(0);
    assert.ok(down > started, 'the flip is stamped');
    assert.equal(changedAt(1), otherStarted, 'the other real did not change');
    await pause();
    set(1, false);
    assert.equal(changedAt(0), down, 'a repeated verdict is no transition');
    await pause();
    set(1, true);
    assert.ok(changedAt(0) > down);
  });

  it('removes a failed real and runs notify_down, then notify_up when it returns', () => {
    const { health, scripts, states, set } = service({ reals: [real(1), real(2)] });
    assert.equal(set(1, false), true);
    assert.deepEqual(weights(health.current()), ['10.0.0.2=1']);
    assert.equal(set(1, false), false, 'no change, no new state');
    set(1, true);
    assert.deepEqual(weights(health.current()), ['10.0.0.1=1', '10.0.0.2=1']);
    assert.deepEqual(scripts.kinds(), [
      'quorum_up',
      'notify_down 10.0.0.1:80',
      'notify_up 10.0.0.1:80',
    ]);
    assert.equal(states.length, 3, 'start, down, up');
    assert.deepEqual(scripts.runs[1]?.command, '/bin/down 1');
  });

  it('keeps a failed real at weight 0 with inhibit_on_failure', () => {
    const { health, set } = service({
      inhibitOnFailure: true,
      reals: [real(1, { weight: 5 }), real(2, { inhibitOnFailure: false })],
    });
    set(1, false);
    set(2, false);
    assert.deepEqual(weights(health.current()), ['10.0.0.1=0']);
  });

  it('needs every check of a real up for it to be alive', () => {
    const two = [{ type: 'TCP_CHECK' }, { type: 'HTTP_GET', urls: [{ path: '/' }] }] as const;
    const { health, set } = service({ reals: [real(1, { checkers: [...two] }), real(2)] });
    set(1, false, { check: 1 });
    assert.deepEqual(weights(health.current()), ['10.0.0.2=1']);
    set(1, false, { check: 0 });
    set(1, true, { check: 1 });
    assert.deepEqual(weights(health.current()), ['10.0.0.2=1']);
    set(1, true, { check: 0 });
    assert.deepEqual(weights(health.current()), ['10.0.0.1=1', '10.0.0.2=1']);
  });

  it('at a reload carries the quorum state over: scripts run only when it flips', () => {
    // Quorum held before and still reached: keepalived runs nothing.
    const kept = service({ quorum: 2, reals: [real(1), real(2)] }, true);
    assert.equal(kept.health.current().quorumUp, true);
    assert.deepEqual(kept.scripts.kinds(), []);
    // Held before, but the new quorum is out of reach: quorum_down once.
    const lost = service({ quorum: 5, reals: [real(1), real(2)] }, true);
    assert.equal(lost.health.current().quorumUp, false);
    assert.deepEqual(lost.scripts.kinds(), ['quorum_down']);
    // Lost before, reached now (a real added): quorum_up once.
    const gained = service({ quorum: 2, reals: [real(1), real(2)] }, false);
    assert.deepEqual(gained.scripts.kinds(), ['quorum_up']);
    // Lost before and still lost, sorry server already serving: nothing.
    const still = service(
      {
        quorum: 5,
        reals: [real(1)],
        sorryServer: { address: '10.0.0.9', port: 80, forwarding: 'dr' },
      },
      false,
    );
    assert.deepEqual(still.scripts.kinds(), []);
    assert.equal(still.health.current().sorry?.address, '10.0.0.9');
  });

  it('applies dynamic weights (misc_dynamic) to the real and to quorum', () => {
    const { health, set, scripts } = service({ quorum: 10, reals: [real(1, { weight: 2 })] });
    assert.equal(health.current().quorumUp, false);
    set(1, true, { weight: 12 });
    assert.deepEqual(weights(health.current()), ['10.0.0.1=12']);
    assert.equal(health.current().quorumUp, true);
    assert.deepEqual(scripts.kinds(), ['quorum_up']);
  });

  it('gains and loses quorum with hysteresis', () => {
    const reals = [1, 2, 3, 4, 5].map((n) => real(n));
    const { health, set, scripts } = service({ quorum: 3, hysteresis: 1, reals });
    const up = () => health.current().quorumUp;
    assert.equal(up(), true, '5 >= 3 + 1');
    set(1, false);
    set(2, false);
    assert.equal(up(), true, '3 is not below 3 - 1');
    set(3, false);
    assert.equal(up(), true, '2 is not below 3 - 1');
    set(4, false);
    assert.equal(up(), false, '1 < 3 - 1');
    set(1, true);
    set(2, true);
    assert.equal(up(), false, '3 < 3 + 1');
    set(3, true);
    assert.equal(up(), true, '4 >= 3 + 1');
    assert.deepEqual(
      scripts.kinds().filter((k) => k.startsWith('quorum')),
      ['quorum_up', 'quorum_down', 'quorum_up'],
    );
  });

  it('switches to the sorry server when quorum is lost and back when it returns', () => {
    const { health, set } = service({
      quorum: 2,
      sorryServer: { address: '127.0.0.1', port: 80, forwarding: 'dr' },
      reals: [real(1), real(2, { inhibitOnFailure: true })],
    });
    assert.equal(health.current().sorry, undefined);
    set(1, false);
    assert.deepEqual(health.current(), {
      reals: [{ address: '10.0.0.2', port: 80, forwarding: 'dr', weight: 0 }],
      sorry: { address: '127.0.0.1', port: 80, forwarding: 'dr', weight: 1 },
      quorumUp: false,
    });
    set(1, true);
    assert.deepEqual(weights(health.current()), ['10.0.0.1=1', '10.0.0.2=1']);
    assert.equal(health.current().sorry, undefined);
  });

  it('keeps the sorry server at weight 0 with sorry_server_inhibit', () => {
    const { health, set } = service({
      sorryServer: { address: '127.0.0.1', port: 8080, forwarding: 'dr', inhibit: true },
      reals: [real(1)],
    });
    assert.deepEqual(health.current().sorry, {
      address: '127.0.0.1',
      port: 8080,
      forwarding: 'dr',
      weight: 0,
    });
    set(1, false);
    assert.deepEqual(health.current().sorry, {
      address: '127.0.0.1',
      port: 8080,
      forwarding: 'dr',
      weight: 1,
    });
  });

  it('under alpha starts with no reals and the sorry server, running quorum_down', () => {
    const { health, set, scripts } = service({
      alpha: true,
      sorryServer: { address: '127.0.0.1', port: 80, forwarding: 'dr' },
      reals: [real(1), real(2)],
    });
    assert.deepEqual(health.current(), {
      reals: [],
      sorry: { address: '127.0.0.1', port: 80, forwarding: 'dr', weight: 1 },
      quorumUp: false,
    });
    set(2, true);
    assert.deepEqual(weights(health.current()), ['10.0.0.2=1']);
    assert.deepEqual(scripts.kinds(), ['quorum_down', 'notify_up 10.0.0.2:80', 'quorum_up']);
  });

  it('with omega runs notify_down and quorum_down on shutdown and empties the service', async () => {
    const { health, set, scripts } = service({ omega: true, reals: [real(1), real(2)] });
    set(2, false);
    const final = await health.shutdown();
    assert.deepEqual(final, { reals: [], quorumUp: false });
    assert.deepEqual(scripts.kinds(), [
      'quorum_up',
      'notify_down 10.0.0.2:80',
      'notify_down 10.0.0.1:80',
      'quorum_down',
    ]);
    assert.equal(set(2, true), false, 'events after shutdown are ignored');
  });

  it('without omega runs no scripts on shutdown', async () => {
    const { health, scripts } = service({ reals: [real(1)] });
    await health.shutdown();
    assert.deepEqual(scripts.kinds(), ['quorum_up']);
    assert.deepEqual(health.current(), { reals: [], quorumUp: false });
  });

  it('rejects bad options with the service named', () => {
    const scripts = new RecordingScripts();
    const make = (options: Partial<VirtualServerHealthOptions>) =>
      new VirtualServerHealth({ name: 'vs1', reals: [], ...options }, { scripts });
    assert.throws(
      () => make({ reals: [real(1), real(1)] }),
      /vs1: real_server 10\.0\.0\.1:80 is listed twice/,
    );
    assert.throws(
      () => make({ reals: [real(1, { weight: -1 })] }),
      /weight of real_server 10\.0\.0\.1:80 -1/,
    );
    assert.throws(() => make({ quorum: 1.5 }), /quorum 1\.5 must be an integer/);
    assert.throws(
      () => make({ sorryServer: { address: 'localhost', port: 80, forwarding: 'dr' } }),
      /sorry_server address "localhost" is not an IP address/,
    );
    const health = make({ reals: [real(1)] });
    assert.throws(
      () => health.registerCheck('10.0.0.9:80', 'x', { up: true }),
      /not a real server of vs1/,
    );
  });
});
