/**
 * A process for the scheduling tests: applies the event loop scheduling and
 * runs work on its event loop when told (one command per stdin line, one JSON
 * answer per stdout line), so the test reads its threads from /proc.
 */
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { Config, SchedulingSettings } from '../../../src/config/model.js';
import { SchedulingService } from '../../../src/daemon/scheduling-service.js';
import { silentLogger } from '../../../src/log.js';
import { native } from '../../../src/native/addon.js';
import { LoopSlicer, sleepAtSliceBoundaries } from '../../../src/time/loop-slice.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as SchedulingSettings;
const service = new SchedulingService(settings, silentLogger());
let worker: Worker | undefined;

/** `ms` of busy work in 2 ms slices, as the reconciler's passes run. */
async function slicedWork(ms: number): Promise<void> {
  const slicer = new LoopSlicer();
  for (const until = performance.now() + ms; performance.now() < until; ) {
    const unit = performance.now() + 0.1;
    while (performance.now() < unit) {
      // spin: 0.1 ms of apply work
    }
    await slicer.maybeYield();
  }
}

const commands: Record<string, () => Promise<unknown>> = {
  apply: async () => service.start(),
  worker: async () => {
    worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await new Promise((resolve) => worker?.once('online', resolve));
  },
  sliced: async () => slicedWork(1500),
  unsliced: async () => {
    for (const until = performance.now() + 60; performance.now() < until; ) {
      // spin: 60 ms without a turn of the loop or a sleep
    }
  },
  // The same pass without the slice boundaries' sleeps.
  'sliced-without-sleeps': async () => {
    sleepAtSliceBoundaries(0);
    await slicedWork(1500);
  },
  // keepalived's limits (SIGXCPU at half of 10 ms, SIGKILL at 10 ms), no sleeps.
  'keepalived-limits': async () => {
    native().setEventLoopRealtime(10, 5000, 10_000);
    sleepAtSliceBoundaries(0);
    await slicedWork(1500);
  },
  wait: async () => new Promise((resolve) => setTimeout(resolve, 300)),
  // The loop held for 200 ms (no timer runs), then a turn for the timers to see it.
  block: async () => {
    for (const until = performance.now() + 200; performance.now() < until; ) {
      // spin
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  },
  close: async () => {
    await worker?.terminate();
    await service.close();
  },
};

/** `reload {settings}`: a reload to a configuration with these settings. */
async function reload(settings: SchedulingSettings): Promise<void> {
  const next = { global: { scheduling: settings } } as unknown as Config;
  await service.planReload(next).apply();
}

const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of lines) {
  if (line.startsWith('reload ')) await reload(JSON.parse(line.slice('reload '.length)));
  else {
    const run = commands[line];
    if (run === undefined) break;
    await run();
  }
  process.stdout.write(
    // The addon's count, and what the daemon's metric reads (absent while the loop is not realtime).
    `${JSON.stringify({
      done: line,
      demotions: native().realtimeDemotions(),
      reported: service.realtimeDemotions(),
      priority: service.realtimePriority(),
    })}\n`,
  );
}
process.exit(0);
