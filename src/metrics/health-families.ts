import type { ServiceLabelTexts } from './labels.js';
import { escapeLabelValue, type FamilyWriter, type MetricFamily } from './metric-family.js';
import type { Scrape } from './scrape.js';
import type { VirtualServerState } from './sources.js';

type Real = VirtualServerState['reals'][number];
type Check = Real['checks'][number];

/**
 * A gauge family written one data-plane service of each virtual server at a
 * time (a virtual_server_group gives one service per address).
 */
const gauge = (
  name: string,
  help: string,
  emit: (vs: VirtualServerState, service: ServiceLabelTexts, out: FamilyWriter) => void,
): MetricFamily<Scrape> => ({
  name,
  help,
  type: 'gauge',
  async collect(scrape, out) {
    for (const vs of scrape.virtualServers()) {
      for (const key of vs.services) {
        emit(vs, scrape.labels.of(key), out);
        await out.maybeYield();
      }
    }
  },
});

/** One series per service. */
const perService = (name: string, help: string, value: (vs: VirtualServerState) => number) =>
  gauge(name, help, (vs, service, out) => out.series(service.text, value(vs)));

/** One series per real of each service, from `reals(vs)`. */
const perReal = <R extends { address: string; port: number }>(
  name: string,
  help: string,
  reals: (vs: VirtualServerState) => readonly R[],
  value: (real: R) => number,
) =>
  gauge(name, help, (vs, service, out) => {
    for (const real of reals(vs)) out.series(service.real(real.address, real.port), value(real));
  });

/** One series per check of each real. */
const perCheck = (name: string, help: string, value: (check: Check) => number) =>
  gauge(name, help, (vs, service, out) => {
    for (const real of vs.reals) {
      const labels = service.real(real.address, real.port);
      for (const check of real.checks) {
        out.series(
          `${labels},check="${check.index}",type="${escapeLabelValue(check.type)}"`,
          value(check),
        );
      }
    }
  });

/** Health: per virtual service, per real and per check. */
export const healthFamilies: readonly MetricFamily<Scrape>[] = [
  perService('lbctl_virtual_server_quorum_up', '1 while the virtual server has quorum', (vs) =>
    vs.state.quorumUp ? 1 : 0,
  ),
  perService(
    'lbctl_virtual_server_sorry_active',
    '1 while the sorry server answers for the virtual server',
    (vs) => (vs.state.sorry !== undefined && vs.state.sorry.weight > 0 ? 1 : 0),
  ),
  perService(
    'lbctl_virtual_server_checks_suspended',
    '1 while checks are paused because the owning VRRP instance is not MASTER (ha_suspend)',
    (vs) => (vs.suspended ? 1 : 0),
  ),
  perReal(
    'lbctl_real_server_weight',
    'Weight a real server currently gets (0: inhibited or draining); absent while removed',
    (vs) => vs.state.reals,
    (real) => real.weight,
  ),
  perReal(
    'lbctl_real_server_up',
    '1 while every check of the real server passes (a real without checks is up)',
    (vs) => vs.reals,
    (real) => (real.alive ? 1 : 0),
  ),
  perCheck('lbctl_check_up', '1 while the health check passes', (c) => (c.up ? 1 : 0)),
  perCheck(
    'lbctl_check_last_transition_timestamp_seconds',
    'When the health check last went up or down, or started (Unix time)',
    (c) => c.changedAtMs / 1000,
  ),
];
