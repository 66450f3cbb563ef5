import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import type { DataPlaneFactory } from '../../src/daemon/data-plane-factory.js';
import { VirtualServerService } from '../../src/daemon/virtual-server-service.js';
import { SCHEDULERS } from '../../src/dataplane/dataplane.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { silentLogger } from '../../src/log.js';
import { MemoryHostNetwork } from '../../src/netlink/testing/memory-host-network.js';
import { FakeClock } from '../../src/time/fake-clock.js';

type Verdict = 'runs' | 'left out' | 'refused';

/** A director with the VIP and a real on eth0; the real answers ARP. */
function host(): MemoryHostNetwork {
  const h = new MemoryHostNetwork();
  h.addLink('lo', '00:00:00:00:00:00');
  h.addLink('eth0', '02:00:00:00:00:01');
  h.addAddress('eth0', '10.0.0.1/24');
  h.addAddress('eth0', '10.0.0.100/32');
  h.answering.set('10.0.0.11', '02:00:00:00:00:11');
  return h;
}

function configText(plane: string, scheduler: string, lbKind: string, protocol: string): string {
  return (
    `global:\n  dataPlane: ${plane}\nvirtualServers:\n  - address: 10.0.0.100\n    port: 80\n` +
    `    protocol: ${protocol}\n    scheduler: ${scheduler}\n    lbKind: ${lbKind}\n` +
    '    realServers:\n      - address: 10.0.0.11\n'
  );
}

function validateVerdict(text: string): Verdict {
  try {
    const { warnings } = parseConfigText(text, 'c.yaml');
    return warnings.some((w) => /lbctl up leaves this virtual server out/.test(w.message))
      ? 'left out'
      : 'runs';
  } catch (err) {
    if (err instanceof ConfigError) return 'refused';
    throw err;
  }
}

async function upVerdict(text: string): Promise<Verdict> {
  // `up` loads the file too; a configuration validate refuses never reaches the service.
  let config: ReturnType<typeof parseConfigText>['config'];
  try {
    config = parseConfigText(text, 'c.yaml').config;
  } catch (err) {
    if (err instanceof ConfigError) return 'refused';
    throw err;
  }
  let plane: MemoryDataPlane | undefined;
  const dataPlanes: DataPlaneFactory = async () => {
    plane = new MemoryDataPlane();
    return plane;
  };
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
  const applied = plane?.services() ?? [];
  await service.close();
  return applied.length === 1 && applied[0]?.reals.length === 1 ? 'runs' : 'left out';
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
