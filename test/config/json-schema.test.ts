import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { jsonSchemaPath, jsonSchemaText } from '../../src/config/json-schema.js';

test('the committed JSON Schema equals the one generated from the zod schema', () => {
  const committed = readFileSync(jsonSchemaPath(), 'utf8');
  assert.equal(
    committed,
    jsonSchemaText(),
    'schema/lbctl.schema.json is stale: regenerate with node dist/src/config/write-json-schema.js',
  );
});

test('the JSON Schema describes defaults and enums editors can complete', () => {
  const schema = JSON.parse(jsonSchemaText());
  const vs = schema.properties.virtualServers.items;
  assert.equal(vs.properties.scheduler.default, 'wlc');
  assert.ok(vs.properties.scheduler.enum.includes('mh'));
  assert.deepEqual(vs.properties.lbKind.enum, ['NAT', 'DR', 'TUN']);
  const instance = schema.properties.vrrpInstances.items;
  assert.deepEqual(instance.required, ['name', 'virtualRouterId']);
  assert.equal(instance.properties.virtualRouterId.maximum, 255);
  assert.equal(instance.additionalProperties, false);
});
