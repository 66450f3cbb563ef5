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

test('a container recorded again after others is found with all its records', () => {
  const table = new LocationTable();
  table.add(['global'], 'routerId', at(2), 'router_id');
  table.add(['vrrpScripts', 0], 'script', at(5), 'script');
  table.add(['global'], 'vrrpVersion', at(9), 'vrrp_version');
  assert.equal(table.get(['global', 'routerId'])?.line, 2);
  assert.equal(table.get(['global', 'vrrpVersion'])?.line, 9);
  assert.equal(table.get(['vrrpScripts', 0, 'script'])?.line, 5);
  // A key and a list index with the same text are different segments.
  table.add(['global'], '0', at(12), 'zero');
  assert.equal(table.get(['global', 0]), undefined);
  assert.equal(table.get(['global', '0'])?.line, 12);
});

test('removing a list item forgets its records and moves those of later items up', () => {
  const table = new LocationTable();
  for (const i of [0, 1, 2]) {
    table.add(['vrrpScripts', i], undefined, at(10 * i + 1), 'vrrp_script');
    table.add(['vrrpScripts', i], 'script', at(10 * i + 2), 'script');
    table.add(['vrrpInstances', 0, 'trackScripts'], i, at(100 + i), 'track_script');
  }
  table.removeListItem(['vrrpScripts'], 1);
  table.removeListItem(['vrrpInstances', 0, 'trackScripts'], 0);
  assert.equal(table.get(['vrrpScripts', 0, 'script'])?.line, 2);
  assert.equal(table.get(['vrrpScripts', 1])?.line, 21);
  assert.equal(table.get(['vrrpScripts', 1, 'script'])?.line, 22);
  assert.equal(table.get(['vrrpScripts', 2]), undefined);
  assert.equal(table.get(['vrrpInstances', 0, 'trackScripts', 0])?.line, 101);
  assert.equal(table.get(['vrrpInstances', 0, 'trackScripts', 1])?.line, 102);
  assert.equal(table.get(['vrrpInstances', 0, 'trackScripts', 2]), undefined);
  // Recording goes on after a removal, under the new numbers.
  table.add(['vrrpScripts', 1], 'weight', at(30), 'weight');
  assert.equal(table.get(['vrrpScripts', 1, 'weight'])?.line, 30);
  assert.equal(table.get(['vrrpScripts', 1, 'script'])?.line, 22);
});

test('records name their own file, whether or not it is the main file the table starts with', () => {
  const table = new LocationTable('k.conf');
  table.add(['global'], 'routerId', at(2), 'router_id');
  table.add(['global'], 'scriptUser', { file: 'inc.conf', line: 7, column: 5 }, 'script_user');
  table.add(['global'], 'enableScriptSecurity', at(3), 'enable_script_security');
  assert.deepEqual(table.get(['global', 'routerId']), { ...at(2), keyword: 'router_id' });
  assert.deepEqual(table.get(['global', 'scriptUser']), {
    file: 'inc.conf',
    line: 7,
    column: 5,
    keyword: 'script_user',
  });
  assert.equal(table.get(['global', 'enableScriptSecurity'])?.file, 'k.conf');
  const other = new LocationTable('main.conf');
  other.add(['global'], 'routerId', at(2), 'router_id');
  assert.equal(other.get(['global', 'routerId'])?.file, 'k.conf');
});
