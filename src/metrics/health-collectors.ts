import { Gauge, type Registry } from 'prom-client';
import { REAL_LABELS, realLabels, SERVICE_LABELS, serviceLabels } from './labels.js';
import type { VirtualServerState } from './sources.js';

/**
 * Health metrics: per virtual service (one series per data-plane service, so
 * a virtual_server_group gives one per address), per real and per check.
 */
export function registerHealthCollectors(
  registers: Registry[],
  virtualServers: () => readonly VirtualServerState[],
): void {
  const perService = (name: string, help: string, value: (vs: VirtualServerState) => number) =>
    new Gauge({
      name,
      help,
      labelNames: [...SERVICE_LABELS],
      registers,
      collect() {
        this.reset();
        for (const vs of virtualServers()) {
          for (const key of vs.services) this.set(serviceLabels(key), value(vs));
        }
      },
    });
  perService('lbctl_virtual_server_quorum_up', '1 while the virtual server has quorum', (vs) =>
    vs.state.quorumUp ? 1 : 0,
  );
  perService(
    'lbctl_virtual_server_sorry_active',
    '1 while the sorry server answers for the virtual server',
    (vs) => (vs.state.sorry !== undefined && vs.state.sorry.weight > 0 ? 1 : 0),
  );
  perService(
    'lbctl_virtual_server_checks_suspended',
    '1 while checks are paused because the owning VRRP instance is not MASTER (ha_suspend)',
    (vs) => (vs.suspended ? 1 : 0),
  );

  /** One series per real of each service, from `reals(vs)`. */
  const perReal = <R extends { address: string; port: number }>(
    name: string,
    help: string,
    reals: (vs: VirtualServerState) => readonly R[],
    value: (real: R) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: [...REAL_LABELS],
      registers,
      collect() {
        this.reset();
        for (const vs of virtualServers()) {
          for (const key of vs.services) {
            for (const real of reals(vs)) {
              this.set(realLabels(key, real.address, real.port), value(real));
            }
          }
        }
      },
    });
  perReal(
    'lbctl_real_server_weight',
    'Weight a real server currently gets (0: inhibited or draining); absent while removed',
    (vs) => vs.state.reals,
    (real) => real.weight,
  );
  perReal(
    'lbctl_real_server_up',
    '1 while every check of the real server passes (a real without checks is up)',
    (vs) => vs.reals,
    (real) => (real.alive ? 1 : 0),
  );

  const perCheck = (
    name: string,
    help: string,
    value: (check: VirtualServerState['reals'][number]['checks'][number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: [...REAL_LABELS, 'check', 'type'],
      registers,
      collect() {
        this.reset();
        for (const vs of virtualServers()) {
          for (const key of vs.services) {
            for (const real of vs.reals) {
              for (const check of real.checks) {
                this.set(
                  {
                    ...realLabels(key, real.address, real.port),
                    check: String(check.index),
                    type: check.type,
                  },
                  value(check),
                );
              }
            }
          }
        }
      },
    });
  perCheck('lbctl_check_up', '1 while the health check passes', (c) => (c.up ? 1 : 0));
  perCheck(
    'lbctl_check_last_transition_timestamp_seconds',
    'When the health check last went up or down, or started (Unix time)',
    (c) => c.changedAtMs / 1000,
  );
}
