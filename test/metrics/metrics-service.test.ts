import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DataPlane, DataPlaneCounters } from '../../src/dataplane/dataplane.js';
import { silentLogger } from '../../src/log.js';
import { MetricsService, parseListen } from '../../src/metrics/metrics-service.js';
import { packageRoot } from '../../src/paths.js';
import { lbctlVersion } from '../../src/version.js';
import { promtool } from '../support/promtool.js';
import { instanceOptions, TestCluster } from '../vrrp/support/cluster.js';

const counters: DataPlaneCounters = {
  global: { forwarded: { packets: 12, bytes: 1200 }, malformed: { packets: 1, bytes: 60 } },
  connTable: { capacity: 1024, used: 3, evicted: 1 },
  services: [
    {
      service: { vip: '10.0.0.3', port: 80, protocol: 'tcp' },
      packets: 12,
      bytes: 1200,
      newConnections: 3,
      reals: [
        { address: '10.0.0.7', port: 80, packets: 7, bytes: 700, newConnections: 2 },
        { address: '10.0.0.8', port: 80, packets: 5, bytes: 500, newConnections: 1 },
      ],
    },
  ],
};

/** Only counters() is read by the metrics. */
const fakePlane = { counters: async () => counters } as unknown as DataPlane;

async function scrape(port: number, path = '/metrics'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('Prometheus metrics', () => {
  it('exposes VRRP state, health and data-plane counters at /metrics', async () => {
    const cluster = new TestCluster();
    const node = cluster.add('lb01', '192.168.0.201', [instanceOptions({ priority: 150 })]);
    node.engine.start();
    cluster.clock.advance(4000); // past the master-down interval: MASTER
    assert.equal(cluster.state('lb01'), 'MASTER');
    node.engine.dispatch.unknownVrid = 7;
    node.engine.dispatch.invalidSource = 2;

    const metrics = new MetricsService(
      '127.0.0.1:0',
      {
        vrrp: () => node.engine,
        dataPlane: () => fakePlane,
        virtualServers: () => [
          {
            name: 'TCP 10.0.0.3:80',
            services: [{ vip: '10.0.0.3', port: 80, protocol: 'tcp' }],
            suspended: false,
            state: {
              quorumUp: true,
              reals: [{ address: '10.0.0.7', port: 80, weight: 1, forwarding: 'dr' }],
            },
            reals: [
              {
                address: '10.0.0.7',
                port: 80,
                alive: true,
                checks: [{ index: 0, type: 'TCP_CHECK', up: true, changedAtMs: 1_700_000_000_000 }],
              },
              {
                address: '10.0.0.8',
                port: 80,
                alive: false,
                checks: [{ index: 0, type: 'HTTP_GET', up: false, changedAtMs: 1_700_000_005_000 }],
              },
            ],
          },
        ],
        scheduling: () => ({ realtimeDemotions: 2, realtimePriority: 3 }),
      },
      silentLogger(),
    );
    await metrics.start();
    try {
      const { status, body } = await scrape(metrics.port ?? 0);
      assert.equal(status, 200);
      const vs = 'proto="TCP",local_address="10.0.0.3",local_port="80"';
      const expected = [
        'lbctl_vrrp_state{vrrp_instance="VI_1",state="MASTER"} 1',
        'lbctl_vrrp_state{vrrp_instance="VI_1",state="BACKUP"} 0',
        'lbctl_vrrp_priority{vrrp_instance="VI_1"} 150',
        'lbctl_vrrp_vip_held{vrrp_instance="VI_1",address="192.168.0.203"} 1',
        'lbctl_vrrp_transitions_total{vrrp_instance="VI_1",from="INIT",to="BACKUP",reason="startup"} 1',
        'lbctl_vrrp_transitions_total{vrrp_instance="VI_1",from="BACKUP",to="MASTER",reason="masterDown"} 1',
        'lbctl_vrrp_adverts_dropped_total{vrrp_instance="VI_1",reason="authFailure"} 0',
        'lbctl_vrrp_dispatch_dropped_total{reason="tooShort"} 0',
        'lbctl_vrrp_dispatch_dropped_total{reason="unknownVrid"} 7',
        'lbctl_vrrp_dispatch_dropped_total{reason="invalidSource"} 2',
        `lbctl_virtual_server_quorum_up{${vs}} 1`,
        `lbctl_virtual_server_sorry_active{${vs}} 0`,
        `lbctl_virtual_server_checks_suspended{${vs}} 0`,
        `lbctl_real_server_weight{${vs},remote_address="10.0.0.7",remote_port="80"} 1`,
        `lbctl_real_server_up{${vs},remote_address="10.0.0.7",remote_port="80"} 1`,
        `lbctl_real_server_up{${vs},remote_address="10.0.0.8",remote_port="80"} 0`,
        `lbctl_check_up{${vs},remote_address="10.0.0.8",remote_port="80",check="0",type="HTTP_GET"} 0`,
        `lbctl_check_last_transition_timestamp_seconds{${vs},remote_address="10.0.0.7",remote_port="80",check="0",type="TCP_CHECK"} 1700000000`,
        'lbctl_dataplane_packets_total{reason="forwarded"} 12',
        'lbctl_dataplane_bytes_total{reason="malformed"} 60',
        `lbctl_virtual_server_connections_total{${vs}} 3`,
        `lbctl_real_server_packets_total{${vs},remote_address="10.0.0.8",remote_port="80"} 5`,
        'lbctl_connection_table_capacity_entries 1024',
        'lbctl_connection_table_used_entries 3',
        'lbctl_connection_table_evictions_total 1',
        'lbctl_event_loop_realtime_demotions_total 2',
        'lbctl_event_loop_realtime_priority 3',
        `lbctl_build_info{version="${lbctlVersion()}",nodejs_version="${process.versions.node}"} 1`,
      ];
      for (const line of expected) assert.ok(body.split('\n').includes(line), `missing: ${line}`);
      const sent = /^lbctl_vrrp_adverts_sent_total\{vrrp_instance="VI_1"\} (\d+)$/m.exec(body);
      assert.ok(Number(sent?.[1]) >= 1, 'the master has sent adverts');
      const last =
        /^lbctl_vrrp_last_transition_timestamp_seconds\{vrrp_instance="VI_1"\} (\S+)$/m.exec(body);
      assert.ok(Math.abs(Number(last?.[1]) - Date.now() / 1000) < 60, 'a recent wall-clock time');
      assert.match(body, /^process_cpu_seconds_total \S+$/m, 'prom-client process metrics');
      assert.doesNotMatch(body, /^nodejs_active_handles_total/m);

      const lint = await promtool(['check', 'metrics'], body);
      assert.equal(lint.code, 0, lint.output);

      // The shipped dashboard and alerts use only metrics lbctl serves.
      const served = new Set([...body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
      for (const file of ['prometheus/alerts.yml', 'grafana/lbctl.json']) {
        const text = readFileSync(join(packageRoot, 'contrib', file), 'utf8');
        const used = new Set(text.match(/\b(?:lbctl|process|nodejs)_[a-z0-9_]+/g));
        assert.ok(used.size > 0, file);
        for (const name of used) assert.ok(served.has(name), `${file} uses ${name}, not served`);
      }

      assert.equal((await scrape(metrics.port ?? 0, '/')).status, 404);
    } finally {
      await metrics.close();
      node.engine.stop();
    }
  });

  it('reports empty sources without failing', async () => {
    const metrics = new MetricsService(
      '127.0.0.1:0',
      { vrrp: () => undefined, dataPlane: () => undefined, virtualServers: () => [] },
      silentLogger(),
    );
    await metrics.start();
    try {
      const { status, body } = await scrape(metrics.port ?? 0);
      assert.equal(status, 200);
      assert.match(body, /# TYPE lbctl_vrrp_state gauge/);
      // No realtime scheduling: nothing counted.
      assert.match(body, /^lbctl_event_loop_realtime_demotions_total 0$/m);
      const lint = await promtool(['check', 'metrics'], body);
      assert.equal(lint.code, 0, lint.output);
    } finally {
      await metrics.close();
    }
  });

  it('rejects a listen address it cannot parse, naming it', () => {
    assert.deepEqual(parseListen('[::1]:9477'), { host: '::1', port: 9477 });
    assert.throws(
      () => parseListen('localhost'),
      /Cannot serve metrics on 'localhost': expected host:port/,
    );
    assert.throws(() => parseListen('1.2.3.4:99999'), /expected host:port/);
  });
});
