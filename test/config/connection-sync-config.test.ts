import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkInterfaces } from '../../src/config/interface-check.js';
import { parseConfigText } from '../../src/config/load.js';
import { problems as refusal } from './helpers.js';

const instance =
  'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.9.9.9\n  }\n}\n';
/** global_defs with `line` on line 2. */
const keepalived = (line: string) => `global_defs {\n  ${line}\n}\n${instance}`;

const problems = (text: string, file = 'k.conf'): string[] =>
  refusal(() => parseConfigText(text, file));

describe('lvs_sync_daemon / connectionSync', () => {
  it("reads keepalived's full syntax", () => {
    const { config } = parseConfigText(
      keepalived('lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8850 ttl 3 group 239.1.2.3'),
      'k.conf',
    );
    assert.deepEqual(config.global.connectionSync, {
      interface: 'eth1',
      vrrpInstance: 'VI_1',
      syncId: 7,
      maxLength: 1400,
      port: 8850,
      ttl: 3,
      group: '239.1.2.3',
    });
  });

  it("defaults as keepalived and IPVS: the instance's VRID, 224.0.0.81:8848, TTL 1; 'inst' accepted", () => {
    const { config } = parseConfigText(keepalived('lvs_sync_daemon eth1 inst VI_1'), 'k.conf');
    assert.deepEqual(config.global.connectionSync, {
      interface: 'eth1',
      vrrpInstance: 'VI_1',
      syncId: 51,
      port: 8848,
      ttl: 1,
      group: '224.0.0.81',
    });
  });

  it('reads the old positional sync id with a warning', () => {
    const { config, warnings } = parseConfigText(
      keepalived('lvs_sync_daemon eth1 VI_1 9'),
      'k.conf',
    );
    assert.equal(config.global.connectionSync?.syncId, 9);
    assert.deepEqual(
      warnings.map((w) => `${w.line}:${w.column}: ${w.message}`),
      ['2:29: please use keyword "id" before lvs_sync_daemon SYNCID'],
    );
  });

  it('points at bad values, unknown options and a missing instance', () => {
    assert.deepEqual(
      problems(keepalived('lvs_sync_daemon eth1 VI_1 id 300 ttl 0 group 10.1.1.1 speed 9')),
      [
        '2:32: lvs_sync_daemon: must be an integer from 0 to 255',
        '2:40: lvs_sync_daemon: must be an integer from 1 to 255',
        '2:48: lvs_sync_daemon: must be a multicast address',
        "2:57: unknown option 'speed' for lvs_sync_daemon",
        "2:63: unknown option '9' for lvs_sync_daemon",
      ],
    );
    assert.deepEqual(problems(keepalived('lvs_sync_daemon eth1 VI_9')), [
      "2:24: lvs_sync_daemon: connection sync follows vrrp instance 'VI_9', which does not exist",
    ]);
    assert.deepEqual(problems(keepalived('lvs_sync_daemon eth1')), [
      '2:3: lvs_sync_daemon needs the VRRP instance whose state it follows',
    ]);
  });

  it('has a YAML equivalent under global.connectionSync, with the same checks', () => {
    const yaml = (sync: string) =>
      `global:\n  connectionSync:\n${sync}\nvrrpInstances:\n  - name: VI_1\n    interface: eth0\n    virtualRouterId: 51\n    virtualIpAddresses:\n      - address: 10.9.9.9\n`;
    const { config } = parseConfigText(
      yaml('    interface: eth1\n    vrrpInstance: VI_1\n    group: ff02::8848'),
      'c.yaml',
    );
    assert.equal(config.global.connectionSync?.group, 'ff02::8848');
    assert.equal(config.global.connectionSync?.syncId, 51);
    assert.deepEqual(
      problems(yaml('    interface: eth1\n    vrrpInstance: VI_2\n    port: 0'), 'c.yaml'),
      ['5:11: global.connectionSync.port: must be an integer from 1 to 65535'],
    );
  });

  it('up refuses an interface that does not exist', () => {
    const { config } = parseConfigText(keepalived('lvs_sync_daemon eth7 VI_1'), 'k.conf');
    assert.deepEqual(checkInterfaces(config, ['eth0', 'lo']), [
      {
        path: ['global', 'connectionSync', 'interface'],
        message: "interface 'eth7' does not exist on this host (connection sync)",
      },
    ]);
  });
});
