import type { Command } from 'commander';
import { pinRoot } from '../../bpf/paths.js';
import type { XdpAttachMode } from '../../bpf/program.js';
import { counterClasses } from '../../counter/abi.js';
import {
  attachPinnedCounter,
  counterPins,
  detachPinnedCounter,
  readPinnedCounters,
} from '../../counter/counter.js';

const defaultPinDir = `${pinRoot}/counter`;

/** `lbctl counter …`: the packet counter example program, attached as a pinned link. */
export function registerCounterCommand(program: Command): void {
  const counter = program
    .command('counter')
    .description('attach, read and detach the example XDP packet counter');

  counter
    .command('attach')
    .description('attach the counter to an interface (pinned: it stays attached after lbctl exits)')
    .requiredOption('-i, --interface <name>', 'interface to attach to')
    .option('--mode <mode>', 'XDP mode: native, generic or auto', 'auto')
    .option('--pin-dir <dir>', 'where to pin the link and map', defaultPinDir)
    .action(async (options: { interface: string; mode: string; pinDir: string }) => {
      const mode = parseMode(options.mode);
      const pinned = await attachPinnedCounter(options.interface, options.pinDir, mode);
      process.stdout.write(
        `${JSON.stringify({ interface: options.interface, mode: pinned.mode, link: pinned.linkPath, map: pinned.mapPath })}\n`,
      );
    });

  counter
    .command('show')
    .description('print the counters, summed over CPUs')
    .option('--pin-dir <dir>', 'where the counter is pinned', defaultPinDir)
    .option('--json', 'print JSON')
    .action((options: { pinDir: string; json?: boolean }) => {
      const snapshot = readPinnedCounters(options.pinDir);
      if (options.json) {
        const plain = Object.fromEntries(
          counterClasses.map((c) => [
            c,
            { packets: Number(snapshot[c].packets), bytes: Number(snapshot[c].bytes) },
          ]),
        );
        process.stdout.write(`${JSON.stringify(plain)}\n`);
        return;
      }
      process.stdout.write(
        `class  packets  bytes   (map ${counterPins(options.pinDir).mapPath})\n`,
      );
      for (const c of counterClasses) {
        process.stdout.write(
          `${c.padEnd(5)}  ${String(snapshot[c].packets).padStart(7)}  ${String(snapshot[c].bytes).padStart(6)}\n`,
        );
      }
    });

  counter
    .command('detach')
    .description('detach the counter and remove its pins')
    .option('--pin-dir <dir>', 'where the counter is pinned', defaultPinDir)
    .action((options: { pinDir: string }) => {
      detachPinnedCounter(options.pinDir);
    });
}

function parseMode(mode: string): XdpAttachMode {
  if (mode === 'native' || mode === 'generic' || mode === 'auto') return mode;
  throw new Error(`Cannot attach: --mode must be native, generic or auto, not '${mode}'`);
}
