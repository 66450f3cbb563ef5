import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import { IPVS_CAPABILITIES } from '../../src/dataplane/ipvs/capabilities.js';
import { SplitDataPlane } from '../../src/dataplane/split-data-plane.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { hasCode } from '../../src/errors.js';

const WEB: ServiceSpec = { vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' };
const WLC: ServiceSpec = { ...WEB, port: 81, scheduler: 'wlc' };
const real = (address: string, port = 80): RealSpec => ({
  address,
  port,
  weight: 1,
  forwarding: 'dr',
});

describe('SplitDataPlane', () => {
  it('sends each service to the data plane chosen for it and sums what they report', async () => {
    const xdp = new MemoryDataPlane();
    const ipvs = new MemoryDataPlane(IPVS_CAPABILITIES);
    const split = new SplitDataPlane(
      new Map([
        ['xdp', xdp],
        ['ipvs', ipvs],
      ]),
      [
        [WEB, 'xdp'],
        [WLC, 'ipvs'],
      ],
    );
    await split.setService(WEB, [real('10.0.0.11')]);
    await split.setService(WLC, [real('10.0.0.11', 81)]);
    await split.setReal(WLC, real('10.0.0.12', 81));
    assert.deepEqual(xdp.calls, ['set 10.0.0.100:80 10.0.0.11:80*1']);
    assert.deepEqual(ipvs.calls.at(-1), 'set 10.0.0.100:81 10.0.0.11:81*1,10.0.0.12:81*1');
    assert.equal(split.services().length, 2);
    assert.equal((await split.counters()).services.length, 2);
    await split.settle();
    assert.deepEqual([xdp.settled, ipvs.settled], [1, 1], 'settle reaches every data plane');
    await assert.rejects(
      split.setService({ ...WEB, port: 82 }, [real('10.0.0.11', 82)]),
      (err: Error) => hasCode(err, 'DATAPLANE_NO_SUCH_SERVICE'),
    );
    await split.destroy();
    assert.equal(xdp.lifecycle, 'destroyed');
    assert.equal(ipvs.lifecycle, 'destroyed');
  });

  it('removes a service adopted from an earlier run that no route names', async () => {
    const ipvs = new MemoryDataPlane(IPVS_CAPABILITIES);
    await ipvs.setService(WLC, [real('10.0.0.11', 81)]);
    const split = new SplitDataPlane(new Map([['ipvs', ipvs]]), []);
    await split.removeService(WLC);
    assert.deepEqual(ipvs.services(), []);
  });
});
