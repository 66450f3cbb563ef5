import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocationTable } from '../../src/config/keepalived/location-table.js';

const at = (line: number) => ({ file: 'k.conf', line, column: 1 });

test('a value is found whether recorded under its container or as a whole path', () => {
  const table = new LocationTable();
  const server = ['virtualServers', 0, 'realServers', 3] as const;
  table.add(server, undefined, at(10), 'real_server');
  table.add(server, 'weight', at(11), 'weight');
  table.add(['virtualServers', 0], 'port', at(9), 'virtual_server');
  assert.deepEqual(table.get(['virtualServers', 0, 'realServers', 3]), {
    ...at(10),
    keyword: 'real_server',
  });
  assert.deepEqual(table.get(['virtualServers', 0, 'realServers', 3, 'weight']), {
    ...at(11),
    keyword: 'weight',
  });
  assert.deepEqual(table.get(['virtualServers', 0, 'port']), {
    ...at(9),
    keyword: 'virtual_server',
  });
  assert.equal(table.get(['virtualServers', 0, 'realServers', 3, 'port']), undefined);
  assert.equal(table.get(['virtualServers', 0, 'realServers', 2]), undefined);
});

test('the latest record for a path wins, also when added after a lookup', () => {
  const table = new LocationTable();
  table.add(['global'], 'routerId', at(2), 'router_id');
  table.add(['global', 'routerId'], undefined, at(3), 'router_id');
  assert.equal(table.get(['global', 'routerId'])?.line, 3);
  table.add(['global'], 'routerId', at(4), 'router_id');
  assert.equal(table.get(['global', 'routerId'])?.line, 4);
  assert.equal(table.get(['global'])?.line, undefined);
});
