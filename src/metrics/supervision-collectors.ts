import { Gauge, type Registry } from 'prom-client';
import type { DataPlaneSupervisor } from '../dataplane/supervisor.js';
import { snapshotCounter } from './snapshot-counter.js';

/** Data-plane supervision: health per interface and what was put back. */
export function registerSupervisionCollectors(
  registers: Registry[],
  supervisor: () => DataPlaneSupervisor | undefined,
): void {
  new Gauge({
    name: 'lbctl_dataplane_healthy',
    help: '1 while the XDP data plane forwards on every interface it should (links and pins in place), else 0',
    registers,
    collect() {
      const s = supervisor();
      this.reset();
      if (s !== undefined) this.set(s.health.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lbctl_dataplane_interface_up',
    help: '1 while the XDP program forwards on the interface, 0 while it cannot (detached and not restorable, interface gone)',
    labelNames: ['interface'],
    registers,
    collect() {
      const s = supervisor();
      this.reset();
      if (s === undefined) return;
      const broken = new Set(s.health.broken.map((b) => b.interface));
      for (const name of s.health.interfaces)
        this.set({ interface: name }, broken.has(name) ? 0 : 1);
    },
  });
  const counter = (name: string, help: string, field: 'checks' | 'restored' | 'failedChecks') =>
    snapshotCounter(registers, supervisor, name, help, (s) => s.counters[field]);
  counter(
    'lbctl_dataplane_supervision_checks_total',
    'Checks of the XDP links and pins (one per second)',
    'checks',
  );
  counter(
    'lbctl_dataplane_restored_total',
    'XDP links, programs or pins someone else removed or replaced and lbctl put back',
    'restored',
  );
  counter(
    'lbctl_dataplane_supervision_failures_total',
    'Checks that found an interface the XDP data plane could not serve',
    'failedChecks',
  );
}
