import { Counter, Gauge, type Registry } from 'prom-client';
import { DISPATCH_DROP_REASONS } from '../vrrp/engine.js';
import type { VrrpEngineView, VrrpInstanceView } from '../vrrp/engine-view.js';
import type { VrrpState } from '../vrrp/state.js';

const VRRP_STATES: readonly VrrpState[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'];

/**
 * VRRP metrics. The instance is labelled `vrrp_instance`, not `instance`,
 * which Prometheus reserves for the scrape target.
 */
export function registerVrrpCollectors(
  registers: Registry[],
  vrrp: () => VrrpEngineView | undefined | Promise<VrrpEngineView | undefined>,
): void {
  const instances = async () => (await vrrp())?.instances ?? [];

  new Gauge({
    name: 'lbctl_vrrp_state',
    help: 'VRRP instance state: 1 for the current state, 0 for the others',
    labelNames: ['vrrp_instance', 'state'],
    registers,
    async collect() {
      const all = await instances();
      this.reset();
      for (const instance of all) {
        for (const state of VRRP_STATES) {
          this.set({ vrrp_instance: instance.name, state }, instance.state === state ? 1 : 0);
        }
      }
    },
  });

  new Gauge({
    name: 'lbctl_vrrp_priority',
    help: 'Effective VRRP priority (base plus tracked weights)',
    labelNames: ['vrrp_instance'],
    registers,
    async collect() {
      const all = await instances();
      this.reset();
      for (const instance of all) this.set({ vrrp_instance: instance.name }, instance.priority);
    },
  });

  new Gauge({
    name: 'lbctl_vrrp_vip_held',
    help: '1 while this director holds the virtual address (its VRRP instance is MASTER), else 0',
    labelNames: ['vrrp_instance', 'address'],
    registers,
    async collect() {
      const all = await instances();
      this.reset();
      for (const instance of all) {
        const held = instance.state === 'MASTER' ? 1 : 0;
        for (const vip of instance.options.vips) {
          this.set({ vrrp_instance: instance.name, address: vip.address }, held);
        }
      }
    },
  });

  new Gauge({
    name: 'lbctl_vrrp_last_transition_timestamp_seconds',
    help: 'When the VRRP instance last changed state (Unix time)',
    labelNames: ['vrrp_instance'],
    registers,
    async collect() {
      const all = await instances();
      this.reset();
      for (const instance of all) {
        const at = instance.counters.lastTransitionAtMs;
        if (at !== undefined) this.set({ vrrp_instance: instance.name }, at / 1000);
      }
    },
  });

  new Counter({
    name: 'lbctl_vrrp_transitions_total',
    help: 'VRRP state changes by origin state, new state and cause',
    labelNames: ['vrrp_instance', 'from', 'to', 'reason'],
    registers,
    async collect() {
      const all = await instances();
      this.reset();
      for (const instance of all) {
        for (const t of instance.counters.transitions.values()) {
          this.inc(
            { vrrp_instance: instance.name, from: t.from, to: t.to, reason: t.cause },
            t.count,
          );
        }
      }
    },
  });

  const counter = (name: string, help: string, pick: (c: VrrpInstanceView['counters']) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['vrrp_instance'],
      registers,
      async collect() {
        const all = await instances();
        this.reset();
        for (const instance of all) {
          this.inc({ vrrp_instance: instance.name }, pick(instance.counters));
        }
      },
    });
  counter('lbctl_vrrp_adverts_received_total', 'VRRP adverts accepted', (c) => c.advertsReceived);
  counter('lbctl_vrrp_adverts_sent_total', 'VRRP adverts sent', (c) => c.advertsSent);

  new Counter({
    name: 'lbctl_vrrp_adverts_dropped_total',
    help: 'VRRP adverts dropped by the receive checks, by reason',
    labelNames: ['vrrp_instance', 'reason'],
    registers,
    async collect() {
      const all = await instances();
      this.reset();
      for (const instance of all) {
        for (const [reason, count] of Object.entries(instance.counters.dropped)) {
          this.inc({ vrrp_instance: instance.name, reason }, count);
        }
      }
    },
  });

  new Counter({
    name: 'lbctl_vrrp_dispatch_dropped_total',
    help: 'VRRP packets dropped before reaching an instance: too short, unknown VRID, invalid source address',
    labelNames: ['reason'],
    registers,
    async collect() {
      const engine = await vrrp();
      this.reset();
      if (engine === undefined) return;
      for (const reason of DISPATCH_DROP_REASONS) this.inc({ reason }, engine.dispatch[reason]);
    },
  });
}
