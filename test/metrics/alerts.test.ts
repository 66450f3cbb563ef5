import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/paths.js';
import { promtool } from '../support/promtool.js';

const rulesDir = join(packageRoot, 'contrib', 'prometheus');

describe('contrib/prometheus alert rules', () => {
  it('pass promtool check rules', async () => {
    const { code, output } = await promtool(['check', 'rules', join(rulesDir, 'alerts.yml')]);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });

  it('fire as alerts.test.yml expects on recorded series (promtool test rules)', async () => {
    const { code, output } = await promtool(['test', 'rules', join(rulesDir, 'alerts.test.yml')]);
    assert.equal(code, 0, output);
  });
});
