/**
 * Runs several test files in this one node process, their tests one after
 * another in the order given, so what a file loads once per process serves
 * the files after it too: the VM tier's guests run their files this way, and
 * lb_xdp is then verified once per load setting for the whole guest
 * (test/dataplane/support/shared-skeleton.ts), not once per file. Node 20's
 * `--test` always gives each file a process of its own.
 *
 *   node --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./dist/test/support/file-times-reporter.js \
 *     --test-reporter-destination=stdout \
 *     dist/test/support/one-process-runner.js FILES...
 *
 * Without `--test`, node ignores `--test-timeout`: a hung test is bounded by
 * whatever runs this (the VM's timeout). Each test's events name its own
 * file, so the reporters still tell the files apart.
 */

import { resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('one-process-runner: no test files given');
  process.exit(2);
}
for (const file of files) {
  try {
    await import(pathToFileURL(resolve(file)).href);
  } catch (err) {
    // The files after it still run; this one fails under its own name.
    test(`${file} loads`, () => {
      throw err;
    });
  }
}
