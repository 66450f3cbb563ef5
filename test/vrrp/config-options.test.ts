import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { hasCode } from '../../src/errors.js';
import { vrrpOptionsFromConfig } from '../../src/vrrp/system/config-options.js';

const dir = mkdtempSync(join(tmpdir(), 'lbctl-vrrp-config-'));
let files = 0;
const load = (text: string) => {
  const path = join(dir, `keepalived-${files++}.conf`);
  writeFileSync(path, text);
  return loadConfig(path).config;
};

const FULL = `
global_defs {
  router_id lb-a
  notification_email {
    ops@example.com
  }
  notification_email_from lb@example.com
  smtp_server 127.0.0.1 2525
  smtp_connect_timeout 7
  script_user nobody
  vrrp_garp_interval 0.01
  vrrp_gna_interval 0.02
}
vrrp_script chk_nginx {
  script "/usr/bin/killall -0 nginx"
  interval 2
  timeout 1
  weight -20
  fall 3
  rise 2
}
vrrp_sync_group G1 {
  group {
    VI_4
    VI_6
  }
  track_script {
    chk_nginx
  }
  notify_master "/usr/local/bin/group-master"
}
vrrp_instance VI_4 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  nopreempt
  mcast_src_ip 10.0.0.1
  smtp_alert
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    10.0.0.100/24 dev eth1 label eth1:vip brd 10.0.0.255 scope global
  }
  virtual_routes {
    10.9.0.0/16 via 10.0.0.254 dev eth1 metric 5
  }
  track_interface {
    eth1 weight -30
  }
  notify "/usr/local/bin/notify-all"
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 0.5
  unicast_src_ip fe80::1
  unicast_peer {
    fe80::2
  }
  virtual_ipaddress {
    fd00::100/64
  }
}
`;

describe('VRRP engine options from the configuration', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('maps instances with keepalived meaning', () => {
    const mapped = vrrpOptionsFromConfig(load(FULL));
    const [v4, v6] = mapped.instances;
    assert.ok(v4 !== undefined && v6 !== undefined);
    assert.equal(v4.interface, 'eth0');
    assert.equal(v4.nopreempt, true);
    assert.equal(v4.initialState, 'BACKUP');
    assert.equal(v4.sourceIp, '10.0.0.1', 'mcast_src_ip is the source');
    assert.equal(v4.authType, 'pass');
    assert.equal(v4.authPass, 's3cret');
    assert.deepEqual(v4.vips, [
      {
        address: '10.0.0.100',
        prefixLength: 24,
        dev: 'eth1',
        label: 'eth1:vip',
        scope: 'global',
        broadcast: '10.0.0.255',
      },
    ]);
    assert.deepEqual(v4.virtualRoutes, [
      { destination: '10.9.0.0/16', via: '10.0.0.254', dev: 'eth1', metric: 5 },
    ]);
    assert.deepEqual(v4.trackInterfaces, [{ interface: 'eth1', weight: -30, reverse: false }]);
    assert.equal(v4.garp?.intervalMs, 10, 'garp_interval for IPv4');
    assert.equal(v6.garp?.intervalMs, 20, 'gna_interval for IPv6');
    assert.equal(v4.notify?.generic?.command, '/usr/local/bin/notify-all');
    assert.equal(v4.notify?.generic?.user, 'nobody', 'script_user applies to notify scripts');
    assert.equal(v4.notify?.smtpAlert, true);
    assert.equal(v6.nopreempt, false);
    assert.equal(v6.version, 3);
    assert.equal(v6.advertIntMs, 500);
    assert.equal(v6.sourceIp, 'fe80::1', 'unicast_src_ip is the source');
    assert.deepEqual(v6.unicastPeers, ['fe80::2']);
  });

  it('applies sync group tracked scripts to every member as FAULT trackers', () => {
    const mapped = vrrpOptionsFromConfig(load(FULL));
    for (const instance of mapped.instances) {
      assert.deepEqual(instance.trackScripts, [{ name: 'chk_nginx', weight: 0, reverse: false }]);
    }
    assert.deepEqual(mapped.syncGroups[0]?.members, ['VI_4', 'VI_6']);
    assert.equal(mapped.syncGroups[0]?.notify?.master?.command, '/usr/local/bin/group-master');
  });

  it('maps scripts, SMTP and the router id', () => {
    const mapped = vrrpOptionsFromConfig(load(FULL));
    assert.deepEqual(mapped.scripts, [
      {
        command: '/usr/bin/killall -0 nginx',
        user: 'nobody',
        name: 'chk_nginx',
        intervalMs: 2000,
        timeoutMs: 1000,
        fall: 3,
        rise: 2,
        weight: -20,
        reverse: false,
        initFail: false,
      },
    ]);
    assert.equal(mapped.routerId, 'lb-a');
    assert.deepEqual(mapped.smtp, {
      server: '127.0.0.1',
      port: 2525,
      heloName: 'lb-a',
      from: 'lb@example.com',
      to: ['ops@example.com'],
      timeoutMs: 7000,
    });
  });

  /** VI_X on eth0 with VIP 10.0.0.1/24 and `extra` lines. */
  const instanceX = (extra = '') => `
vrrp_instance VI_X {
  interface eth0
  virtual_router_id 9
  virtual_ipaddress {
    10.0.0.1/24
  }
${extra}}
`;

  it('maps virtual_ipaddress_excluded, of any family, beside the advertised addresses', () => {
    const loaded = load(
      instanceX(`  virtual_ipaddress_excluded {
    10.0.0.2/24 dev eth1
    fd00::2/64
  }
`),
    );
    const [instance] = vrrpOptionsFromConfig(loaded).instances;
    assert.deepEqual(instance?.vips, [{ address: '10.0.0.1', prefixLength: 24 }]);
    assert.deepEqual(instance?.excludedVips, [
      { address: '10.0.0.2', prefixLength: 24, dev: 'eth1' },
      { address: 'fd00::2', prefixLength: 64 },
    ]);
  });

  it('refuses what it cannot honour, naming the instance', () => {
    // validate refuses blackhole routes first; the engine still refuses a model holding one.
    const loaded = load(instanceX());
    const instance = loaded.vrrpInstances[0];
    assert.ok(instance);
    const blackhole = {
      ...loaded,
      vrrpInstances: [
        {
          ...instance,
          virtualRoutes: [
            { destination: '10.9.0.0/16', family: 'ipv4' as const, type: 'blackhole' as const },
          ],
        },
      ],
    };
    assert.throws(
      () => vrrpOptionsFromConfig(blackhole),
      (err) => hasCode(err, 'VRRP_UNSUPPORTED') && /VRRP instance VI_X/.test(String(err)),
    );
  });
});
