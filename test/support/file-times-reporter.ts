/**
 * A node:test reporter (next to spec) that makes the suite's time visible per
 * test file: a line when each file starts, and at the end every file's time,
 * slowest first, marking the files with a failed test, so the file behind the
 * next slowdown or failure is in the CI log. A file's time is the sum of its
 * top-level tests' durations (its process start and imports aside): the
 * runner reports files in order, holding back the results of a file that ran
 * beside a slower one, so arrival times say nothing. A file that failed as a
 * whole (a timeout) counts its own time. It works the same for files run in
 * one process (test/support/one-process-runner.ts): there each test's own
 * file names it, and a file starts with its first top-level test.
 *
 *   node --test --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./dist/test/support/file-times-reporter.js \
 *     --test-reporter-destination=stdout FILES...
 */
import { relative } from 'node:path';

interface TestEvent {
  readonly type: string;
  readonly data?: {
    readonly file?: string;
    readonly name?: string;
    readonly nesting?: number;
    readonly details?: { readonly duration_ms?: number };
  };
}

/** The start line's and the table's prefix (test/support/vm.ts reads them back). */
export const FILE_START = 'file-times: start';
export const FILE_TIME = 'file-times:';

export default async function* fileTimes(source: AsyncIterable<TestEvent>) {
  const began = Date.now();
  const files = new Map<string, { ms: number; whole?: number; failed: boolean }>();
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  for await (const { type, data } of source) {
    if (data?.file === undefined) continue;
    const name = relative(process.cwd(), data.file);
    const own = data.name === data.file;
    // Under --test a file's own test is dequeued when its process starts
    // (reported at once, unlike its results); in one process, its first test.
    if (type === 'test:dequeue' && data.nesting === 0 && !files.has(name)) {
      files.set(name, { ms: 0, failed: false });
      yield `${FILE_START} ${name} at ${seconds(Date.now() - began)} s\n`;
      continue;
    }
    const entry = files.get(name);
    if (entry === undefined || data.nesting !== 0) continue;
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const ms = data.details?.duration_ms ?? 0;
    if (own) entry.whole = ms;
    else entry.ms += ms;
    if (type === 'test:fail') entry.failed = true;
  }
  const time = (e: { ms: number; whole?: number }) => e.whole ?? e.ms;
  const rows = [...files].sort(([, a], [, b]) => time(b) - time(a));
  yield `${FILE_TIME} ${files.size} files in ${seconds(Date.now() - began)} s, slowest first\n`;
  for (const [name, entry] of rows) {
    yield `${FILE_TIME} ${seconds(time(entry)).padStart(7)} s ${name}${entry.failed ? ' (failed)' : ''}\n`;
  }
}
