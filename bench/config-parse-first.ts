/**
 * Run by config_parse_large in a fresh process, as `lbctl validate`, `lbctl
 * up` and every reload worker are: the CPU time of loading the configuration
 * loader, then of the process's first parse of FILE (nothing compiled yet).
 * Prints one JSON object.
 */
import { readFileSync } from 'node:fs';
import { cpuMs } from './cpu-time.js';

const file = process.argv[2] as string;
const text = readFileSync(file, 'utf8');
const start = cpuMs();
const { parseConfigText } = await import('../src/config/load.js');
const loaded = cpuMs();
const { config, warnings } = parseConfigText(text, file);
const parsed = cpuMs();
process.stdout.write(
  JSON.stringify({
    importCpuMs: loaded - start,
    firstParseCpuMs: parsed - loaded,
    virtualServers: config.virtualServers.length,
    warnings: warnings.length,
  }),
);
