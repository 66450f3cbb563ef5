/**
 * Loads one configuration file and prints the outcome as JSON: run by
 * hostile-inputs.test.ts in a child process with a small heap and a timeout,
 * so a loader that grows without bound or hangs fails the test instead of
 * taking the test runner down.
 */
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';

const file = process.argv[2] as string;
try {
  const { config } = loadConfig(file, { requireWork: true, configId: 'node' });
  process.stdout.write(JSON.stringify({ ok: true, virtualServers: config.virtualServers.length }));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stdout.write(JSON.stringify({ ok: false, issues: err.issues }));
}
