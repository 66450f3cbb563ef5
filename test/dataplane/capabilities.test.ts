import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chooseDataPlane } from '../../src/config/data-plane-choice.js';
import { repoRoot } from '../../src/config/repo-root.js';
import * as abi from '../../src/dataplane/abi.js';
import {
  capabilitiesTable,
  missingCapabilities,
  type ServiceNeeds,
} from '../../src/dataplane/capabilities.js';
import { DATA_PLANES } from '../../src/dataplane/registry.js';
import { XDP_CAPABILITIES } from '../../src/dataplane/xdp/capabilities.js';

const WEB: ServiceNeeds = {
  protocol: 'tcp',
  scheduler: 'rr',
  forwarding: new Set(['dr']),
  fwmark: false,
  allPorts: false,
  realCount: 2,
};

describe('data-plane capabilities', () => {
  it('XDP declares exactly what its ABI has codes for', () => {
    assert.deepEqual([...XDP_CAPABILITIES.schedulers].sort(), Object.keys(abi.SCHED).sort());
    assert.deepEqual([...XDP_CAPABILITIES.forwarding].sort(), Object.keys(abi.FWD).sort());
    assert.deepEqual([...XDP_CAPABILITIES.protocols].sort(), Object.keys(abi.PROTO).sort());
    assert.equal(XDP_CAPABILITIES.maxRealsPerService, abi.MAX_REALS_PER_SERVICE);
  });

  it('docs/data-plane.md shows every declared data plane as declared', () => {
    const page = readFileSync(join(repoRoot(), 'docs', 'data-plane.md'), 'utf8');
    for (const plane of DATA_PLANES) {
      const start = `<!-- capabilities:${plane.kind} -->\n`;
      const end = `\n<!-- /capabilities:${plane.kind} -->`;
      const from = page.indexOf(start);
      const to = page.indexOf(end, from);
      assert.ok(from >= 0 && to > from, `docs/data-plane.md has a ${plane.kind} capability table`);
      assert.equal(
        page.slice(from + start.length, to),
        capabilitiesTable(plane),
        `the ${plane.kind} table in docs/data-plane.md is stale`,
      );
    }
  });

  it('names every missing capability with the field that asks for it', () => {
    assert.deepEqual(missingCapabilities(XDP_CAPABILITIES, WEB), []);
    const missing = missingCapabilities(XDP_CAPABILITIES, {
      protocol: 'sctp',
      scheduler: 'wlc',
      hashSourcePort: true,
      forwarding: new Set(['nat']),
      fwmark: true,
      allPorts: true,
      realCount: 300,
    });
    assert.deepEqual(
      missing.map((m) => m.field),
      ['protocol', 'scheduler', 'scheduler', 'fwmark', 'port', 'realServers'],
    );
  });

  it('auto takes the first data plane that can run a service, service by service', () => {
    const other = {
      ...XDP_CAPABILITIES,
      kind: 'ipvs' as const,
      title: 'another',
      schedulers: new Set(['wlc'] as const),
    };
    const planes = [XDP_CAPABILITIES, other];
    const pick = (scheduler: ServiceNeeds['scheduler']) => {
      const verdict = chooseDataPlane({ ...WEB, scheduler }, 'auto', planes);
      return verdict.ok ? verdict.plane.kind : verdict.message;
    };
    assert.equal(pick('rr'), 'xdp');
    assert.equal(pick('wlc'), 'ipvs');
    assert.match(pick('lblc'), /the XDP data plane cannot run it: .*, and another cannot run it/);
    const xdpOnly = chooseDataPlane({ ...WEB, scheduler: 'wlc' }, 'xdp', planes);
    assert.equal(xdpOnly.ok, false);
  });
});
