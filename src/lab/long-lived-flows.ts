import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnIn } from '../netns/exec.js';
import { KEEPALIVE_CLIENT } from './host-programs.js';

/** One long-lived connection's answer in a round: the real that answered, or why none did. */
export interface FlowAnswer {
  /** The client's source port: names the flow. */
  readonly port: number;
  readonly real?: string;
  readonly error?: string;
}

/**
 * Keep-alive HTTP connections held open from a lab host: `open` connects them
 * and asks each once; every `round` asks each again on the same connection.
 */
export class LongLivedFlows {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    if (child.stdout === null) throw new Error('the client has no stdout');
    createInterface({ input: child.stdout }).on('line', (line) => {
      const waiter = this.waiting;
      this.waiting = undefined;
      if (waiter !== undefined) waiter(line);
      else this.lines.push(line);
    });
  }

  static async open(
    namespace: string,
    vip: string,
    port: number,
    count: number,
  ): Promise<{ flows: LongLivedFlows; first: FlowAnswer[] }> {
    const child = spawnIn(
      namespace,
      process.execPath,
      ['-e', KEEPALIVE_CLIENT, vip, String(port), String(count)],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const flows = new LongLivedFlows(child);
    return { flows, first: await flows.next(count * 3000 + 10_000) };
  }

  /** Asks every connection once more. */
  round(): Promise<FlowAnswer[]> {
    this.child.stdin?.write('\n');
    return this.next(15_000);
  }

  close(): void {
    this.child.stdin?.end();
    this.child.kill('SIGTERM');
  }

  private next(timeoutMs: number): Promise<FlowAnswer[]> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(JSON.parse(ready) as FlowAnswer[]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`the long-lived client did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as FlowAnswer[]);
      };
    });
  }
}
