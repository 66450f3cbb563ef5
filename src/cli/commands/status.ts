import type { Command } from 'commander';
import type { Protocol } from '../../dataplane/dataplane.js';
import {
  connectionLine,
  connectionsHeader,
  formatServices,
  formatTimeouts,
} from '../../status/ipvsadm-format.js';
import { formatVrrp } from '../../status/vrrp-format.js';
import { type ControlOptions, request, withControlOptions } from './control-client.js';
import { requestStatus } from './status-request.js';

interface StatusOptions extends ControlOptions {
  stats?: boolean;
  rate?: boolean;
  connections?: boolean;
  timeout?: boolean;
  vrrp?: boolean;
  json?: boolean;
}

type Row = [Protocol, number, string, string, string, string];

/**
 * `lbctl status`: ipvsadm -Ln's layout (--stats, --rate, --connections as
 * -Lnc, --timeout), then the VRRP instances; --json prints the same data.
 */
export function registerStatusCommand(program: Command): void {
  withControlOptions(
    program
      .command('status')
      .description('show virtual services, reals and VRRP instances (ipvsadm -Ln layout)')
      .option('--stats', 'traffic counters (ipvsadm --stats)')
      .option('--rate', 'traffic rates over one second (ipvsadm --rate)')
      .option('-c, --connections', 'the connection table (ipvsadm -Lnc)')
      .option('--timeout', 'connection timeouts (ipvsadm --timeout)')
      .option('--vrrp', 'only the VRRP instances')
      .option('--json', 'print JSON'),
  ).action(async (options: StatusOptions) => {
    const out = process.stdout;
    if (options.connections === true) {
      await listConnections(options);
      return;
    }
    const report = await requestStatus(options, options.rate === true ? { rate: true } : {});
    if (options.json === true) {
      out.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    if (options.timeout === true) {
      out.write(formatTimeouts(report));
      return;
    }
    if (options.vrrp !== true) {
      out.write(
        formatServices(
          report,
          options.stats === true ? 'stats' : options.rate === true ? 'rate' : 'list',
        ),
      );
    }
    const vrrp = formatVrrp(report.vrrp);
    if (vrrp.length > 0) out.write(options.vrrp === true ? vrrp : `\n${vrrp}`);
  });
}

async function listConnections(options: StatusOptions): Promise<void> {
  const out = process.stdout;
  const json = options.json === true;
  if (!json) out.write(connectionsHeader());
  else out.write('[');
  let first = true;
  let pending = '';
  const flush = () => {
    if (pending.length > 0) out.write(pending);
    pending = '';
  };
  await request(options, 'connections', {}, (result) => {
    for (const [protocol, expiresS, state, source, virtual, destination] of result as Row[]) {
      const row = { protocol, expiresS, state, source, virtual, destination };
      if (json) {
        pending += `${first ? '\n' : ',\n'}${JSON.stringify(row)}`;
        first = false;
      } else {
        pending += connectionLine(row);
      }
    }
    flush();
  });
  if (json) out.write(first ? ']\n' : '\n]\n');
}
