import type { StatusReport, StatusServicesLine } from '../../status/status-report.js';
import { type ControlOptions, request } from './control-client.js';

/**
 * Asks the instance for its status and puts back in order the services it
 * sent in pieces (src/daemon/status-answer.ts). An instance that sends the
 * whole report at once is read the same way.
 */
export async function requestStatus(
  options: ControlOptions,
  args: Record<string, unknown> = {},
): Promise<StatusReport> {
  const services: StatusServicesLine['services'][number][] = [];
  const last = (await request(options, 'status', args, (line) => {
    services.push(...(line as StatusServicesLine).services);
  })) as StatusReport;
  return { ...last, services: [...services, ...last.services] };
}
