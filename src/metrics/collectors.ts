import { Counter, Gauge, type Registry } from 'prom-client';
import type { DataPlane } from '../dataplane/dataplane.js';
import { serviceName } from '../dataplane/dataplane.js';
import type { DesiredServiceState } from '../health/desired-state.js';
import { DISPATCH_DROP_REASONS, type VrrpEngine } from '../vrrp/engine.js';

/** Where the collectors read from at scrape time; each part may be absent. */
export interface MetricsSources {
  vrrp(): VrrpEngine | undefined;
  dataPlane(): DataPlane | undefined;
  virtualServers(): readonly { name: string; state: DesiredServiceState; suspended: boolean }[];
}

const VRRP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'] as const;

/**
 * Registers lbctl's metrics. Values are read when Prometheus scrapes, from
 * the live VRRP engine, health state and data-plane counters, so nothing is
 * updated on a hot path.
 */
export function registerCollectors(registry: Registry, sources: MetricsSources): void {
  const registers = [registry];

  new Gauge({
    name: 'lbctl_vrrp_state',
    help: 'VRRP instance state: 1 for the current state, 0 for the others',
    labelNames: ['instance', 'state'],
    registers,
    collect() {
      this.reset();
      for (const instance of sources.vrrp()?.instances ?? []) {
        for (const state of VRRP_STATES) {
          this.set({ instance: instance.name, state }, instance.state === state ? 1 : 0);
        }
      }
    },
  });

  new Gauge({
    name: 'lbctl_vrrp_priority',
    help: 'Effective VRRP priority (base plus tracked weights)',
    labelNames: ['instance'],
    registers,
    collect() {
      this.reset();
      for (const instance of sources.vrrp()?.instances ?? []) {
        this.set({ instance: instance.name }, instance.priority);
      }
    },
  });

  const vrrpCounter = (
    name: string,
    help: string,
    pick: (c: VrrpEngine['instances'][number]['counters']) => number,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['instance'],
      registers,
      collect() {
        this.reset();
        for (const instance of sources.vrrp()?.instances ?? []) {
          this.inc({ instance: instance.name }, pick(instance.counters));
        }
      },
    });
  vrrpCounter(
    'lbctl_vrrp_adverts_received_total',
    'VRRP adverts accepted',
    (c) => c.advertsReceived,
  );
  vrrpCounter('lbctl_vrrp_adverts_sent_total', 'VRRP adverts sent', (c) => c.advertsSent);
  vrrpCounter('lbctl_vrrp_became_master_total', 'Transitions to MASTER', (c) => c.becameMaster);
  vrrpCounter(
    'lbctl_vrrp_released_master_total',
    'Transitions out of MASTER',
    (c) => c.releasedMaster,
  );

  new Counter({
    name: 'lbctl_vrrp_adverts_dropped_total',
    help: 'VRRP adverts dropped by the receive checks, by reason',
    labelNames: ['instance', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const instance of sources.vrrp()?.instances ?? []) {
        for (const [reason, count] of Object.entries(instance.counters.dropped)) {
          this.inc({ instance: instance.name, reason }, count);
        }
      }
    },
  });

  new Counter({
    name: 'lbctl_vrrp_dispatch_dropped_total',
    help: 'VRRP packets dropped before reaching an instance: too short, unknown VRID, invalid source address',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      const engine = sources.vrrp();
      if (engine === undefined) return;
      for (const reason of DISPATCH_DROP_REASONS) this.inc({ reason }, engine.dispatch[reason]);
    },
  });

  new Gauge({
    name: 'lbctl_virtual_server_quorum_up',
    help: '1 while the virtual server has quorum, 0 while it has lost it',
    labelNames: ['virtual_server'],
    registers,
    collect() {
      this.reset();
      for (const vs of sources.virtualServers()) {
        this.set({ virtual_server: vs.name }, vs.state.quorumUp ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: 'lbctl_virtual_server_sorry_active',
    help: '1 while the sorry server answers for the virtual server',
    labelNames: ['virtual_server'],
    registers,
    collect() {
      this.reset();
      for (const vs of sources.virtualServers()) {
        this.set(
          { virtual_server: vs.name },
          vs.state.sorry !== undefined && vs.state.sorry.weight > 0 ? 1 : 0,
        );
      }
    },
  });

  new Gauge({
    name: 'lbctl_real_server_weight',
    help: 'Weight a real server currently gets (0: inhibited or draining); absent while removed',
    labelNames: ['virtual_server', 'real_server'],
    registers,
    collect() {
      this.reset();
      for (const vs of sources.virtualServers()) {
        for (const real of vs.state.reals) {
          this.set(
            { virtual_server: vs.name, real_server: hostPort(real.address, real.port) },
            real.weight,
          );
        }
      }
    },
  });

  registerDataPlaneCollectors(registers, sources);
}

function registerDataPlaneCollectors(registers: Registry[], sources: MetricsSources): void {
  // One counter read per scrape serves every data-plane metric of that scrape.
  let pending: ReturnType<DataPlane['counters']> | undefined;
  const counters = () => {
    const plane = sources.dataPlane();
    if (plane === undefined) return Promise.resolve(undefined);
    pending ??= plane.counters().finally(() => {
      setImmediate(() => {
        pending = undefined;
      });
    });
    return pending;
  };

  const global = (name: string, help: string, field: 'packets' | 'bytes') =>
    new Counter({
      name,
      help,
      labelNames: ['reason'],
      registers,
      async collect() {
        this.reset();
        const c = await counters();
        for (const [reason, value] of Object.entries(c?.global ?? {}))
          this.inc({ reason }, value[field]);
      },
    });
  global('lbctl_dataplane_packets_total', 'Packets seen by the XDP program, by outcome', 'packets');
  global('lbctl_dataplane_bytes_total', 'Bytes seen by the XDP program, by outcome', 'bytes');

  const perService = (name: string, help: string, field: 'packets' | 'bytes' | 'newConnections') =>
    new Counter({
      name,
      help,
      labelNames: ['service'],
      registers,
      async collect() {
        this.reset();
        const c = await counters();
        for (const s of c?.services ?? []) this.inc({ service: serviceName(s.service) }, s[field]);
      },
    });
  perService('lbctl_service_packets_total', 'Packets forwarded for a virtual service', 'packets');
  perService('lbctl_service_bytes_total', 'Bytes forwarded for a virtual service', 'bytes');
  perService(
    'lbctl_service_connections_total',
    'New connections scheduled for a virtual service',
    'newConnections',
  );

  const perReal = (name: string, help: string, field: 'packets' | 'bytes' | 'newConnections') =>
    new Counter({
      name,
      help,
      labelNames: ['service', 'real_server'],
      registers,
      async collect() {
        this.reset();
        const c = await counters();
        for (const s of c?.services ?? []) {
          for (const r of s.reals) {
            this.inc(
              { service: serviceName(s.service), real_server: hostPort(r.address, r.port) },
              r[field],
            );
          }
        }
      },
    });
  perReal('lbctl_real_server_packets_total', 'Packets forwarded to a real server', 'packets');
  perReal('lbctl_real_server_bytes_total', 'Bytes forwarded to a real server', 'bytes');
  perReal(
    'lbctl_real_server_connections_total',
    'New connections sent to a real server',
    'newConnections',
  );
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
