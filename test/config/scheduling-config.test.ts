import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { problems } from './helpers.js';

/** global_defs with `globals` (from line 2) and one VRRP instance. */
const conf = (globals: string) =>
  `global_defs {\n${globals}\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n`;

const yaml = (scheduling: string) =>
  `global:\n  scheduling:\n${scheduling}\nvrrpInstances:\n  - name: VI_1\n    interface: eth0\n    virtualRouterId: 51\n    virtualIpAddresses:\n      - address: 10.0.0.1\n`;

describe('event loop scheduling settings', () => {
  it("keepalived.conf: the vrrp_* process settings fill global.scheduling as YAML's do", () => {
    const fromConf = parseConfigText(
      conf(
        '  vrrp_priority -20\n  vrrp_rt_priority 50\n  vrrp_rlimit_rttime 20000\n  vrrp_cpu_affinity 0 1\n  vrrp_no_swap',
      ),
      'k.conf',
    ).config.global.scheduling;
    const fromYaml = parseConfigText(
      yaml(
        '    nice: -20\n    realtimePriority: 50\n    realtimeLimitUs: 20000\n    cpuAffinity: [0, 1]\n    noSwap: true',
      ),
      'c.yaml',
    ).config.global.scheduling;
    const expected = {
      nice: -20,
      realtimePriority: 50,
      realtimeLimitUs: 20000,
      cpuAffinity: [0, 1],
      noSwap: true,
    };
    assert.deepEqual(fromConf, expected);
    assert.deepEqual(fromYaml, expected);
    assert.deepEqual(parseConfigText(conf('  router_id a'), 'k.conf').config.global.scheduling, {
      noSwap: false,
    });
  });

  it('refuses values out of keepalived’s ranges at file:line:col', () => {
    assert.deepEqual(
      problems(() =>
        parseConfigText(
          conf(
            '  vrrp_priority 20\n  vrrp_rt_priority 0\n  vrrp_rlimit_rttime 1\n  vrrp_cpu_affinity 0 x',
          ),
          'k.conf',
        ),
      ),
      [
        '2:17: vrrp_priority: must be an integer from -20 to 19',
        '3:20: vrrp_rt_priority: must be an integer from 1 to 99',
        '4:22: vrrp_rlimit_rttime: must be an integer from 2 to 4294967295 microseconds',
        '5:23: vrrp_cpu_affinity: must be an integer from 0 to 1023',
      ],
    );
    assert.deepEqual(
      problems(() =>
        parseConfigText(
          yaml('    nice: -21\n    realtimePriority: 100\n    cpuAffinity: []'),
          'c.yaml',
        ),
      ),
      [
        '3:11: global.scheduling.nice: must be an integer from -20 to 19',
        '4:23: global.scheduling.realtimePriority: must be an integer from 1 to 99',
        '5:18: global.scheduling.cpuAffinity: must name at least one CPU',
      ],
    );
  });

  it('max_auto_priority and min_auto_priority_delay, as keepalived reads them', () => {
    const scheduling = (globals: string) =>
      parseConfigText(conf(globals), 'k.conf').config.global.scheduling;
    assert.deepEqual(scheduling('  max_auto_priority 50\n  min_auto_priority_delay 20000'), {
      maxAutoPriority: 50,
      minAutoPriorityDelayUs: 20000,
      noSwap: false,
    });
    // Bare: the highest realtime priority. 0: never (keepalived's default); -1: never, and
    // no start-up notice in keepalived.
    assert.equal(scheduling('  max_auto_priority').maxAutoPriority, 99);
    assert.equal(scheduling('  max_auto_priority 0').maxAutoPriority, 0);
    assert.equal(
      scheduling('  max_auto_priority 50\n  max_auto_priority -1').maxAutoPriority,
      undefined,
    );
    assert.deepEqual(
      parseConfigText(yaml('    maxAutoPriority: 50\n    minAutoPriorityDelayUs: 20000'), 'c.yaml')
        .config.global.scheduling,
      { maxAutoPriority: 50, minAutoPriorityDelayUs: 20000, noSwap: false },
    );
    assert.deepEqual(
      problems(() =>
        parseConfigText(conf('  max_auto_priority 100\n  min_auto_priority_delay 0'), 'k.conf'),
      ),
      [
        '2:21: max_auto_priority: must be an integer from 0 to 99',
        '3:27: min_auto_priority_delay: must be an integer from 1 to 10000000 microseconds',
      ],
    );
    assert.deepEqual(
      problems(() =>
        parseConfigText(
          yaml('    maxAutoPriority: -1\n    minAutoPriorityDelayUs: 10000001'),
          'c.yaml',
        ),
      ),
      [
        '3:22: global.scheduling.maxAutoPriority: must be an integer from 0 to 99',
        '4:29: global.scheduling.minAutoPriorityDelayUs: must be an integer from 1 to 10000000 microseconds',
      ],
    );
  });

  it("reads keepalived's older spelling vrrp_rlimit_rtime, with a warning", () => {
    const { config, warnings } = parseConfigText(
      conf('  vrrp_rt_priority 50\n  vrrp_rlimit_rtime 30000'),
      'k.conf',
    );
    assert.equal(config.global.scheduling.realtimeLimitUs, 30000);
    assert.ok(
      warnings.some(
        (w) =>
          w.line === 3 &&
          w.message === "'vrrp_rlimit_rtime' is deprecated; use 'vrrp_rlimit_rttime'",
      ),
      JSON.stringify(warnings),
    );
  });

  it('warns that checker and BFD process settings have no process of their own', () => {
    const { warnings } = parseConfigText(
      conf('  checker_rt_priority 5\n  checker_priority -5\n  bfd_no_swap'),
      'k.conf',
    );
    const found = warnings.map((w) => `${w.line}:${w.column}: ${w.message}`);
    for (const [line, keyword] of [
      [2, 'checker_rt_priority'],
      [3, 'checker_priority'],
      [4, 'bfd_no_swap'],
    ] as const) {
      assert.ok(
        found.some((w) =>
          w.startsWith(`${line}:3: '${keyword}' has no process of its own in lbctl`),
        ),
        found.join('\n'),
      );
    }
  });
});
