import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import type { DataPlaneFactory } from '../../src/daemon/data-plane-factory.js';
import { VirtualServerService } from '../../src/daemon/virtual-server-service.js';
import { SCHEDULERS } from '../../src/dataplane/dataplane.js';
import { capabilitiesOf } from '../../src/dataplane/registry.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from '../../src/time/fake-clock.js';
import { directorHost } from './support/director-host.js';

type Verdict = 'runs' | 'left out' | 'refused';

/** The test director, holding the VIP on eth0. */
function host() {
  const h = directorHost();
  h.addAddress('eth0', '10.0.0.100/32');
  return h;
}

function configText(plane: string, scheduler: string, lbKind: string, protocol: string): string {
  return (
    `global:\n  dataPlane: ${plane}\nvirtualServers:\n  - address: 10.0.0.100\n    port: 80\n` +
    `    protocol: ${protocol}\n    scheduler: ${scheduler}\n    lbKind: ${lbKind}\n` +
    '    realServers:\n      - address: 10.0.0.11\n'
  );
}

function keepalivedVerdict(text: string): Verdict {
  return validateVerdict(text, 'k.conf');
}

function validateVerdict(text: string, file = 'c.yaml'): Verdict {
  try {
    const { warnings } = parseConfigText(text, file);
    return warnings.some((w) => /lbctl up leaves this virtual server out/.test(w.message))
      ? 'left out'
      : 'runs';
  } catch (err) {
    if (err instanceof ConfigError) return 'refused';
    throw err;
  }
}

async function upVerdict(text: string, file = 'c.yaml'): Promise<Verdict> {
  // `up` loads the file too; a configuration validate refuses never reaches the service.
  let config: ReturnType<typeof parseConfigText>['config'];
  try {
    config = parseConfigText(text, file).config;
  } catch (err) {
    if (err instanceof ConfigError) return 'refused';
    throw err;
  }
  // One in-memory data plane per kind, with that kind's declared capabilities.
  const dataPlanes: DataPlaneFactory = async (request) =>
    new MemoryDataPlane(capabilitiesOf(request.kind));
  const service = new VirtualServerService({
    config,
    logger: silentLogger(),
    clock: new FakeClock(),
    openHost: async () => host(),
    dataPlanes,
  });
  try {
    await service.start();
  } catch {
    return 'refused';
  }
  const applied = service.dataPlane?.services() ?? [];
  await service.close();
  return applied.length > 0 && applied.every((s) => s.reals.length > 0) ? 'runs' : 'left out';
}

describe('lbctl validate and lbctl up agree', () => {
  for (const plane of ['auto', 'xdp', 'ipvs']) {
    for (const protocol of ['TCP', 'UDP', 'SCTP']) {
      for (const lbKind of ['DR', 'NAT', 'TUN']) {
        it(`dataPlane ${plane}, ${protocol}, ${lbKind}: every scheduler gets one verdict`, async () => {
          const rows: string[] = [];
          for (const scheduler of SCHEDULERS) {
            const text = configText(plane, scheduler, lbKind, protocol);
            const validate = validateVerdict(text);
            const up = await upVerdict(text);
            rows.push(`${scheduler}: validate ${validate}, up ${up}`);
            assert.equal(up, validate, `${scheduler}: validate says ${validate}, up does ${up}`);
          }
          // The verdicts are not all the same: the table exercises both outcomes.
          if (plane === 'xdp' && protocol !== 'SCTP') {
            assert.ok(
              rows.some((r) => r.endsWith('up runs')),
              rows.join('\n'),
            );
            assert.ok(
              rows.some((r) => r.endsWith('up refused')),
              rows.join('\n'),
            );
          }
        });
      }
    }
  }
});

/** Cases where the two used to disagree: group and all-ports rules, fwmark, NAT without a port. */
const SHAPES: Record<string, string> = {
  'a group address without a port and no persistence': `virtual_server_group g {
    10.0.0.100
}
virtual_server group g {
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.11 80 { }
}
`,
  'a persistent group address without a port': `virtual_server_group g {
    10.0.0.100
}
virtual_server group g {
    lb_algo sh
    lb_kind DR
    persistence_timeout 60
    real_server 10.0.0.11 { }
}
`,
  'a group range listing an address twice': `virtual_server_group g {
    10.0.0.100 80
    10.0.0.99-100 80
}
virtual_server group g {
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.11 80 { }
}
`,
  'an all-ports NAT service': `virtual_server 10.0.0.100 0 {
    lb_algo sh
    lb_kind NAT
    persistence_timeout 60
    real_server 10.0.0.11 8080 { }
}
`,
  'a fwmark service': `virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.11 80 { }
}
`,
  'a DR sorry server on another port': `virtual_server 10.0.0.100 80 {
    lb_algo rr
    lb_kind DR
    sorry_server 10.0.0.12 8080
    real_server 10.0.0.11 80 { }
}
`,
};

describe('lbctl validate and lbctl up agree on keepalived.conf shapes', () => {
  for (const [what, conf] of Object.entries(SHAPES)) {
    for (const plane of ['auto', 'xdp']) {
      it(`${what}, dataPlane ${plane}`, async () => {
        const text = `global_defs {\n    lbctl_data_plane ${plane}\n}\n${conf}`;
        const validate = keepalivedVerdict(text);
        const up = await upVerdict(text, 'k.conf');
        assert.equal(up, validate);
      });
    }
  }
});
