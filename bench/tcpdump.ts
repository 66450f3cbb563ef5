import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nsenterArgs } from '../src/netns/exec.js';

/**
 * Starts tcpdump on `ifname` inside a namespace, line-buffered with capture
 * times in seconds since the epoch (-tt), and resolves once it listens. Immediate
 * mode: otherwise libpcap hands packets over in blocks up to ~100 ms late.
 */
export async function startTcpdump(
  namespace: string,
  ifname: string,
  options: readonly string[],
  filter: string,
  onLine: (line: string) => void,
): Promise<ChildProcess> {
  const child = spawn(
    'nsenter',
    [
      ...nsenterArgs(namespace),
      'tcpdump',
      '--immediate-mode',
      '-l',
      '-n',
      '-tt',
      ...options,
      '-i',
      ifname,
      filter,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  createInterface({ input: child.stdout ?? process.stdin }).on('line', onLine);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 5000);
    createInterface({ input: child.stderr ?? process.stdin }).on('line', (line) => {
      if (line.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error('tcpdump exited')));
  });
  return child;
}
