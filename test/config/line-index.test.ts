import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LineCounter } from 'yaml';
import { lineIndexOnDemand } from '../../src/config/line-index.js';

test('line index places every offset where the yaml package does', () => {
  for (const text of [
    '',
    'a',
    '\n',
    'a\n',
    '\n\nb',
    'key: 1\n  nested: two\n\n- x\n',
    'x\r\ny\n',
  ]) {
    const counter = new LineCounter();
    counter.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1))
      counter.addNewLine(i + 1);
    const position = lineIndexOnDemand(text);
    for (let offset = 0; offset <= text.length + 1; offset++) {
      const { line, col } = counter.linePos(offset);
      assert.deepEqual(
        position(offset),
        { line, column: col },
        `${JSON.stringify(text)} @${offset}`,
      );
    }
  }
});

test('loading the configuration loader does not load the yaml package', () => {
  // Only documents the fast reader declines need it (~35 ms of CPU to load).
  const load = fileURLToPath(new URL('../../src/config/load.js', import.meta.url));
  const script = `import { createRequire } from 'node:module';
    const { parseConfigText } = await import(${JSON.stringify(load)});
    parseConfigText('global:\\n  routerId: a\\nvirtualServers: []\\n', 'a.yaml');
    parseConfigText('global_defs {\\n  router_id a\\n}\\n', 'a.conf');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    process.stdout.write(JSON.stringify(loaded.filter((f) => /node_modules.yaml./.test(f))));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), []);
  // And it is there when a document needs it (tags are read by it only).
  const tagged = script.replace('routerId: a', 'routerId: !!str a');
  assert.notDeepEqual(
    JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', tagged], { encoding: 'utf8' }),
    ),
    [],
  );
});
