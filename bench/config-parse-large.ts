import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { IssueList } from '../src/config/errors.js';
import { parseConfigText, readKeepalived } from '../src/config/load.js';
import { documentToYaml } from '../src/config/to-yaml.js';
import { cpuMs } from './cpu-time.js';
import { median } from './stats.js';

const VIRTUAL_SERVERS = 1000;
const REAL_SERVERS = 32;

/**
 * keepalived.conf with 1,000 virtual servers x 32 TCP-checked real servers,
 * scheduled with `scheduler` (wrr is valid as it is; wlc earns every virtual
 * server a warning, so the loader must find source positions).
 */
export function largeKeepalivedConfig(scheduler = 'wrr'): string {
  const parts = [
    'global_defs {\n    router_id bench\n}\n',
    'vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.255.0.1/16\n    }\n}\n',
  ];
  for (let v = 0; v < VIRTUAL_SERVERS; v++) {
    const vip = `10.${100 + Math.floor(v / 250)}.${v % 250}.1`;
    parts.push(
      `virtual_server ${vip} 80 {\n    delay_loop 5\n    lvs_sched ${scheduler}\n    lvs_method DR\n    protocol TCP\n`,
    );
    for (let r = 0; r < REAL_SERVERS; r++) {
      parts.push(
        `    real_server 172.16.${v % 250}.${r + 1} 80 {\n        weight ${1 + (r % 5)}\n        TCP_CHECK {\n            connect_timeout 3\n            retry 2\n        }\n    }\n`,
      );
    }
    parts.push('}\n');
  }
  return parts.join('');
}

const CHECKERS = /checkers:\n(?: {10}.*\n)+/g;

/**
 * The YAML with each virtual server's checker list written once under an
 * anchor and aliased by its other real servers (31 aliases per anchor, within
 * the alias limit): how a person would shorten such a file.
 */
function withAnchors(yaml: string): string {
  let server = -1;
  return yaml
    .split(/^(?= {2}- address: )/m)
    .map((part) => {
      server++;
      let first = true;
      return part.replace(CHECKERS, (block) => {
        if (!first) return `checkers: *c${server}\n`;
        first = false;
        return block.replace('checkers:', `checkers: &c${server}`);
      });
    })
    .join('');
}

/** Median wall and CPU time of parsing `text`; CPU is what to compare on a busy machine. */
function timeParse(
  text: string,
  fileName: string,
  runs: number,
  expectedWarnings = 0,
): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const startCpu = cpuMs();
    const { config, warnings } = parseConfigText(text, fileName);
    cpu.push(cpuMs() - startCpu);
    wall.push(performance.now() - start);
    if (config.virtualServers.length !== VIRTUAL_SERVERS || warnings.length !== expectedWarnings)
      throw new Error('Cannot benchmark: wrong parse result');
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/**
 * Median CPU time of a fresh process's first parse of `text`, and of loading
 * the loader before it (config-parse-first.ts), over `runs` processes.
 */
function timeFirstParse(
  text: string,
  fileName: string,
  runs: number,
  expectedWarnings = 0,
): { firstParse: number; loaderImport: number } {
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-bench-parse-'));
  try {
    const file = join(dir, fileName);
    writeFileSync(file, text);
    const script = new URL('./config-parse-first.js', import.meta.url).pathname;
    const firstParse: number[] = [];
    const loaderImport: number[] = [];
    for (let i = 0; i < runs; i++) {
      const out = JSON.parse(execFileSync(process.execPath, [script, file], { encoding: 'utf8' }));
      if (out.virtualServers !== VIRTUAL_SERVERS || out.warnings !== expectedWarnings)
        throw new Error('Cannot benchmark: wrong parse result in a fresh process');
      firstParse.push(out.firstParseCpuMs);
      loaderImport.push(out.importCpuMs);
    }
    return { firstParse: median(firstParse), loaderImport: median(loaderImport) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Parse time of a 1,000 x 32 configuration in both formats (median of 3 runs
 * each): valid as it is, with a warning on every virtual server, which makes
 * the loader work out source positions (`...WarningsMs`), and as YAML with
 * anchors and aliases (`yamlAnchorsMs`; `yamlAnchorsRatio` to plain YAML,
 * target < 2). `jsonFloorMs` is JSON.parse of the same document, the floor.
 * `…CpuMs` is the process's CPU time for the same parses: on a machine
 * shared with other work, wall time mostly measures waiting for a core.
 * `…FirstCpuMs` is the first parse of a fresh process (median of 3
 * processes), what `lbctl validate`, `lbctl up` and each reload worker pay,
 * and `loaderImportCpuMs` the loading of the loader before it.
 */
export async function configParseLarge(): Promise<{
  name: 'config_parse_large';
  nsPerOp: number;
  ms: number;
  keepalivedMs: number;
  yamlMs: number;
  keepalivedWarningsMs: number;
  yamlWarningsMs: number;
  yamlAnchorsMs: number;
  yamlAnchorsRatio: number;
  keepalivedCpuMs: number;
  yamlCpuMs: number;
  keepalivedWarningsCpuMs: number;
  yamlWarningsCpuMs: number;
  yamlAnchorsCpuMs: number;
  yamlAnchorsCpuRatio: number;
  keepalivedFirstCpuMs: number;
  yamlFirstCpuMs: number;
  keepalivedWarningsFirstCpuMs: number;
  yamlWarningsFirstCpuMs: number;
  loaderImportCpuMs: number;
  jsonFloorMs: number;
  virtualServers: number;
  realServers: number;
}> {
  const keepalived = largeKeepalivedConfig();
  const yaml = documentToYaml(readKeepalived(keepalived, 'bench.conf', new IssueList()).document);
  const keepalivedRun = timeParse(keepalived, 'bench.conf', 3);
  const yamlRun = timeParse(yaml, 'bench.yaml', 3);
  const warned = largeKeepalivedConfig('wlc');
  const warnedYaml = documentToYaml(readKeepalived(warned, 'bench.conf', new IssueList()).document);
  const keepalivedWarningsRun = timeParse(warned, 'bench.conf', 3, VIRTUAL_SERVERS);
  const yamlWarningsRun = timeParse(warnedYaml, 'bench.yaml', 3, VIRTUAL_SERVERS);
  const anchored = withAnchors(yaml);
  if (!anchored.includes('checkers: *c999\n'))
    throw new Error('Cannot benchmark: no aliases written');
  const yamlAnchorsRun = timeParse(anchored, 'bench.yaml', 3);
  const keepalivedFirst = timeFirstParse(keepalived, 'bench.conf', 3);
  const yamlFirst = timeFirstParse(yaml, 'bench.yaml', 3);
  const keepalivedWarningsFirst = timeFirstParse(warned, 'bench.conf', 3, VIRTUAL_SERVERS);
  const yamlWarningsFirst = timeFirstParse(warnedYaml, 'bench.yaml', 3, VIRTUAL_SERVERS);
  const keepalivedMs = keepalivedRun.wall;
  const yamlMs = yamlRun.wall;
  const json = JSON.stringify(readKeepalived(keepalived, 'bench.conf', new IssueList()).document);
  const jsonSamples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    JSON.parse(json);
    jsonSamples.push(performance.now() - start);
  }
  const ms = Math.max(keepalivedMs, yamlMs);
  return {
    name: 'config_parse_large',
    // One operation = parsing one real server (with its checker), in the slower format.
    nsPerOp: Math.round((ms * 1e6) / (VIRTUAL_SERVERS * REAL_SERVERS)),
    ms,
    keepalivedMs,
    yamlMs,
    keepalivedWarningsMs: keepalivedWarningsRun.wall,
    yamlWarningsMs: yamlWarningsRun.wall,
    yamlAnchorsMs: yamlAnchorsRun.wall,
    yamlAnchorsRatio: yamlAnchorsRun.wall / yamlMs,
    keepalivedCpuMs: keepalivedRun.cpu,
    yamlCpuMs: yamlRun.cpu,
    keepalivedWarningsCpuMs: keepalivedWarningsRun.cpu,
    yamlWarningsCpuMs: yamlWarningsRun.cpu,
    yamlAnchorsCpuMs: yamlAnchorsRun.cpu,
    yamlAnchorsCpuRatio: yamlAnchorsRun.cpu / yamlRun.cpu,
    keepalivedFirstCpuMs: keepalivedFirst.firstParse,
    yamlFirstCpuMs: yamlFirst.firstParse,
    keepalivedWarningsFirstCpuMs: keepalivedWarningsFirst.firstParse,
    yamlWarningsFirstCpuMs: yamlWarningsFirst.firstParse,
    loaderImportCpuMs: median([
      keepalivedFirst.loaderImport,
      yamlFirst.loaderImport,
      keepalivedWarningsFirst.loaderImport,
      yamlWarningsFirst.loaderImport,
    ]),
    jsonFloorMs: median(jsonSamples),
    virtualServers: VIRTUAL_SERVERS,
    realServers: VIRTUAL_SERVERS * REAL_SERVERS,
  };
}
