import type { Command } from 'commander';
import { healthy, runChecks } from '../../doctor/checks.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check that this machine can run lbctl (privileges, bpffs, BTF, libbpf, XDP, the data-plane program, IPVS)',
    )
    .option('-i, --interface <name>', 'also try attaching XDP in native mode to this interface')
    .option('--json', 'print the results as JSON')
    .action(async (options: { interface?: string; json?: boolean }) => {
      const results = await runChecks(
        options.interface === undefined ? {} : { interface: options.interface },
      );
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ healthy: healthy(results), checks: results }, null, 2)}\n`,
        );
      } else {
        const width = Math.max(...results.map((r) => r.name.length));
        for (const r of results) {
          const label =
            r.status === 'ok'
              ? 'ok'
              : r.status === 'skipped'
                ? 'skipped'
                : r.required
                  ? 'MISSING'
                  : 'missing';
          process.stdout.write(`${r.name.padEnd(width)}  ${label.padEnd(7)}  ${r.detail}\n`);
        }
      }
      if (!healthy(results)) process.exitCode = 1;
    });
}
