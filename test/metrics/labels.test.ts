import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { realLabels } from '../../src/metrics/labels.js';

describe('metric labels', () => {
  it('split an endpoint into node_exporter ipvs labels, with canonical addresses', () => {
    assert.deepEqual(
      realLabels({ vip: '2001:DB8:0:0::0001', port: 53, protocol: 'udp' }, '2001:db8::000a', 5353),
      {
        proto: 'UDP',
        local_address: '2001:db8::1',
        local_port: '53',
        remote_address: '2001:db8::a',
        remote_port: '5353',
      },
    );
  });
});
