import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES, isErrorCode } from '../../src/error-codes.js';
import { packageRoot } from '../../src/paths.js';

const read = (path: string): string => readFileSync(join(packageRoot, path), 'utf8');

describe('error code catalogue', () => {
  it('docs/errors.md lists exactly the catalogue, with the same meanings', () => {
    const documented = [...read('docs/errors.md').matchAll(/^\| `([A-Z0-9_]+)` \| (.*) \|$/gm)].map(
      (m) => [m[1], m[2]],
    );
    assert.deepEqual(documented, Object.entries(ERROR_CODES));
  });

  it('holds every code the native addon raises', () => {
    const native = [...read('native/errors.h').matchAll(/= "([A-Z0-9_]+)";/g)].map((m) => m[1]);
    assert.ok(native.length > 10, 'expected the codes of native/errors.h');
    assert.deepEqual(
      native.filter((code) => code === undefined || !isErrorCode(code)),
      [],
    );
  });

  it('tells catalogue codes from others', () => {
    assert.equal(isErrorCode('BPF_CLOSED'), true);
    assert.equal(isErrorCode('NOT_A_CODE'), false);
    assert.equal(isErrorCode('toString'), false);
  });
});
