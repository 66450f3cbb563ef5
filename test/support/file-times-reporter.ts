/**
 * A node:test reporter (next to spec) that makes the suite's time visible per
 * test file: a line when each file starts, and at the end every file's wall
 * time, slowest first, so the file behind the next slowdown is in the CI log.
 * A file's time runs from its start to its last report (with files run in
 * parallel, they overlap).
 *
 *   node --test --test-reporter=spec --test-reporter-destination=stdout \
 *     --test-reporter=./dist/test/support/file-times-reporter.js \
 *     --test-reporter-destination=stdout FILES...
 */
import { relative } from 'node:path';

interface TestEvent {
  readonly type: string;
  readonly data?: { readonly file?: string; readonly name?: string; readonly nesting?: number };
}

/** The start line's and the table's prefix (test/support/vm.ts reads them back). */
export const FILE_START = 'file-times: start';
export const FILE_TIME = 'file-times:';

export default async function* fileTimes(source: AsyncIterable<TestEvent>) {
  const began = Date.now();
  const files = new Map<string, { start: number; end: number; failed: boolean }>();
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  for await (const event of source) {
    const file = event.data?.file;
    if (file === undefined) continue;
    const now = Date.now();
    const name = relative(process.cwd(), file);
    let entry = files.get(name);
    // A file's own test is dequeued when its process starts.
    if (entry === undefined && event.type === 'test:dequeue' && event.data?.name === file) {
      entry = { start: now, end: now, failed: false };
      files.set(name, entry);
      yield `${FILE_START} ${name} at ${seconds(now - began)} s\n`;
      continue;
    }
    if (entry === undefined) continue;
    entry.end = now;
    if (event.type === 'test:fail') entry.failed = true;
  }
  const rows = [...files].sort(([, a], [, b]) => b.end - b.start - (a.end - a.start));
  yield `${FILE_TIME} ${files.size} files in ${seconds(Date.now() - began)} s, slowest first\n`;
  for (const [name, { start, end, failed }] of rows) {
    yield `${FILE_TIME} ${seconds(end - start).padStart(7)} s ${name}${failed ? ' (failed)' : ''}\n`;
  }
}
