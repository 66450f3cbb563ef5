import { counterProgramName, loadCounter } from '../src/counter/counter.js';
import type { BenchResult } from './result.js';

const repeat = 1_000_000;

/** ns per packet of the counter program (one per-CPU counter touched) via test runs. */
export async function counterBench(): Promise<BenchResult> {
  const object = await loadCounter();
  const program = object.program(counterProgramName);
  try {
    const frame = Buffer.alloc(64);
    frame.writeUInt16BE(0x0800, 12);
    // Best of three runs: the kernel's average per repetition, least disturbed.
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const { durationNs } = await program.testRun({ data: frame, repeat });
      best = Math.min(best, durationNs);
    }
    return { name: 'counter', nsPerPacket: best, repeat };
  } finally {
    program.close();
    object.close();
  }
}
