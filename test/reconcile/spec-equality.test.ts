import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredReal, RealSpec } from '../../src/dataplane/dataplane.js';
import { sameReals, sameRealsIgnoringNextHop } from '../../src/reconcile/spec-equality.js';

const wanted = (address: string, weight = 1, port = 80): DesiredReal => ({
  address,
  port,
  weight,
  forwarding: 'dr',
});
const applied = (address: string, weight = 1, port = 80, mac = '02:00:00:00:00:01'): RealSpec => ({
  ...wanted(address, weight, port),
  via: { interface: 'eth0', mac },
});

describe('sameRealsIgnoringNextHop', () => {
  const a = applied('10.0.0.1');
  const b = applied('10.0.0.2', 2);
  const c = applied('2001:db8::3');

  it('holds for the same reals in the same order or in another', () => {
    const want = [wanted('10.0.0.1'), wanted('10.0.0.2', 2), wanted('2001:db8::3')];
    assert.equal(sameRealsIgnoringNextHop([a, b, c], want), true);
    assert.equal(sameRealsIgnoringNextHop([c, a, b], want), true);
    assert.equal(sameRealsIgnoringNextHop([a, b, c], [...want].reverse()), true);
  });

  it('fails on a weight, forwarding, threshold, tunnel, port or count difference, in any order', () => {
    for (const order of [(l: RealSpec[]) => l, (l: RealSpec[]) => [...l].reverse()]) {
      const base = [wanted('10.0.0.1'), wanted('10.0.0.2', 2)];
      const have = order([a, b]);
      assert.equal(sameRealsIgnoringNextHop(have, base), true);
      assert.equal(sameRealsIgnoringNextHop(have, [base[0]!, wanted('10.0.0.2', 3)]), false);
      assert.equal(
        sameRealsIgnoringNextHop(have, [base[0]!, { ...base[1]!, forwarding: 'nat' }]),
        false,
      );
      assert.equal(
        sameRealsIgnoringNextHop(have, [base[0]!, { ...base[1]!, upperThreshold: 5 }]),
        false,
      );
      assert.equal(
        sameRealsIgnoringNextHop(have, [
          base[0]!,
          { ...base[1]!, forwarding: 'tun', tunnel: { type: 'gre', checksum: 'csum' } },
        ]),
        false,
      );
      assert.equal(sameRealsIgnoringNextHop(have, [base[0]!, wanted('10.0.0.2', 2, 81)]), false);
      assert.equal(sameRealsIgnoringNextHop(have, [base[0]!, wanted('10.0.0.9', 2)]), false);
      assert.equal(sameRealsIgnoringNextHop(have, base.slice(0, 1)), false);
    }
  });

  it('compares an applied address in its canonical spelling, in order or not', () => {
    const spelled = applied('2001:DB8:0:0:0:0:0:3');
    assert.equal(sameRealsIgnoringNextHop([spelled], [wanted('2001:db8::3')]), true);
    assert.equal(
      sameRealsIgnoringNextHop([a, spelled], [wanted('2001:db8::3'), wanted('10.0.0.1')]),
      true,
    );
    // Wanted addresses come canonical (desiredServices): another spelling is another real.
    assert.equal(sameRealsIgnoringNextHop([c], [wanted('2001:DB8::3')]), false);
  });
});

describe('sameReals', () => {
  it('also compares next hops, MACs without case', () => {
    const have = [applied('10.0.0.1', 1, 80, '02:00:00:00:00:AA')];
    assert.equal(sameReals(have, [applied('10.0.0.1', 1, 80, '02:00:00:00:00:aa')]), true);
    assert.equal(sameReals(have, [applied('10.0.0.1', 1, 80, '02:00:00:00:00:ab')]), false);
  });
});
