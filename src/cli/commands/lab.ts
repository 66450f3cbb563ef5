import type { Command } from 'commander';
import { LbctlError } from '../../errors.js';
import { Lab } from '../../lab/lab.js';
import { DEFAULT_LAB, type LabOptions } from '../../lab/lab-spec.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

function tryThisEcmp(lab: Lab): string[] {
  const c = lab.namespace('client');
  const r = lab.namespace('router');
  const vip = lab.addresses.vip;
  const [d1, d2] = lab.hosts.directors;
  return [
    '',
    'Try it (docs/scale-out.md):',
    `  # the router's RIB: one BGP path per director; its FIB: one multipath route`,
    `  birdc -s ${lab.ecmp?.birdSocket('router')} show route for ${vip}`,
    `  nsenter --net=/var/run/netns/${r} ip route show ${vip}`,
    `  # new connections spread over the directors, each real chosen by the Maglev hash`,
    `  for i in $(seq 8); do nsenter --net=/var/run/netns/${c} curl -s http://${vip}/; done`,
    `  # a clean stop withdraws the VIP first, waits, then detaches XDP; a kill is a crash`,
    `  lbctl lab stop ${d1}; lbctl lab stop ${d2} --kill; lbctl lab status`,
    `  lbctl lab start ${d1}; lbctl lab start ${d2}`,
    '  lbctl lab down',
  ];
}

function tryThis(lab: Lab): string[] {
  if (lab.ecmp !== undefined) return tryThisEcmp(lab);
  const c = lab.namespace('client');
  const vip = lab.addresses.vip;
  const d1 = lab.hosts.directors[0]!;
  const lines = [
    '',
    'Try it:',
    `  # eight requests from the client alternate between the real servers (rr):`,
    `  for i in $(seq 8); do ip netns exec ${c} curl -s http://${vip}/; done`,
    `  # stop rs1's web server: within delay_loop + retry, all requests go to rs2`,
    '  lbctl lab stop rs1',
    `  # stop every real server: the sorry server on the director answers`,
    `  lbctl lab stop rs2; ip netns exec ${c} curl -s http://${vip}/`,
    '  lbctl lab start rs1; lbctl lab start rs2',
  ];
  if (lab.hosts.directors.length > 1) {
    lines.push(
      `  # stop the master director: ${lab.hosts.directors[1]} takes the VIP over`,
      `  lbctl lab stop ${d1}; lbctl lab status`,
    );
  }
  lines.push(
    `  # what a director did (JSON log) and its data plane`,
    `  lbctl lab log ${d1}`,
    '  lbctl lab down',
  );
  return lines;
}

export function registerLabCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'a load-balanced site in network namespaces on this machine: client, directors, real servers',
    );

  lab
    .command('up')
    .description('build the lab (removing any leftovers first) and start everything')
    .option('--reals <n>', `number of real servers (default ${DEFAULT_LAB.reals}, ECMP: 4)`, (v) =>
      Number.parseInt(v, 10),
    )
    .option('--single-director', 'one director holding the VIP, without VRRP')
    .option(
      '--ecmp',
      'N active directors announcing the VIP over BGP to an upstream router that spreads flows by ECMP',
    )
    .option('--directors <n>', 'with --ecmp: number of directors (2-4, default 3)', (v) =>
      Number.parseInt(v, 10),
    )
    .action(
      async (options: {
        reals?: number;
        singleDirector?: boolean;
        ecmp?: boolean;
        directors?: number;
      }) => {
        const settings: LabOptions = {
          ...DEFAULT_LAB,
          reals: options.reals ?? (options.ecmp ? 4 : DEFAULT_LAB.reals),
          ...(options.singleDirector ? { directors: 1, vrrp: false } : {}),
          ...(options.ecmp ? { ecmp: true, vrrp: false, directors: options.directors ?? 3 } : {}),
        };
        const instance = new Lab(settings);
        await instance.up((line) => out(`lab: ${line}`));
        out(`lab: up; VIP ${instance.addresses.vip}:80`);
        for (const line of tryThis(instance)) out(line);
      },
    );

  lab
    .command('down')
    .description('remove every namespace, process and pin of the lab')
    .action(async () => {
      await Lab.load(DEFAULT_LAB).down();
      out('lab: down');
    });

  lab
    .command('status')
    .description('show the lab hosts, what runs on them and who holds the VIP')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const rows = await Lab.load(DEFAULT_LAB).status();
      if (rows === undefined) {
        if (options.json) out('null');
        else out('lab: not running (lbctl lab up builds it)');
        process.exitCode = 3;
        return;
      }
      if (options.json) {
        out(JSON.stringify(rows, null, 2));
        return;
      }
      for (const r of rows) {
        const vip = r.holdsVip ? `  ${r.announces ? 'announces' : 'holds'} the VIP` : '';
        out(`${r.host.padEnd(10)} ${r.address.padEnd(12)} ${r.running}${vip}`);
      }
    });

  lab
    .command('stop')
    .description("stop a real server's web server or a director's lbctl")
    .argument('<host>', 'rs1, rs2, ..., director1, director2')
    .option('--kill', 'SIGKILL instead of a clean shutdown')
    .action(async (host: string, options: { kill?: boolean }) => {
      const stopped = await Lab.load(DEFAULT_LAB).stop(host, options.kill ? 'SIGKILL' : 'SIGTERM');
      out(stopped ? `lab: stopped ${host}` : `lab: ${host} was not running`);
    });

  lab
    .command('start')
    .description("start a real server's web server or a director's lbctl again")
    .argument('<host>', 'rs1, rs2, ..., director1, director2')
    .action(async (host: string) => {
      await Lab.load(DEFAULT_LAB).start(host);
      out(`lab: started ${host}`);
    });

  lab
    .command('log')
    .description("print a director's lbctl log")
    .argument('<director>', 'director1 or director2')
    .action((director: string) => {
      const instance = Lab.load(DEFAULT_LAB);
      if (!instance.hosts.directors.includes(director)) {
        throw new LbctlError(
          'LAB_NO_SUCH_HOST',
          `Cannot show the log of ${director}: not a director`,
        );
      }
      process.stdout.write(instance.directorLog(director));
    });
}
