import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor } from '../../support/wait.js';

/** Prints every datagram received on an AF_UNIX SOCK_DGRAM socket as one JSON string line. */
const RECEIVER = `
import json, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + path[1:] if path.startswith("@") else path)
print(json.dumps("listening"), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode()), flush=True)
`;

/**
 * A stand-in for systemd's notify socket: a real AF_UNIX datagram socket
 * (python3, since Node's core has none) recording what it receives.
 */
export class NotifyReceiver {
  readonly messages: string[] = [];
  private readonly child: ChildProcess;

  private constructor(readonly path: string) {
    this.child = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.messages.push(JSON.parse(line) as string);
    });
  }

  /** Binds `path` (`@name`: abstract namespace) and resolves once it listens. */
  static async listen(path: string): Promise<NotifyReceiver> {
    const receiver = new NotifyReceiver(path);
    await waitFor('the notify socket to listen', () =>
      receiver.messages[0] === 'listening' ? true : undefined,
    );
    receiver.messages.shift();
    return receiver;
  }

  /** Resolves with the first message (index ≥ `from`) containing `text`, and its index. */
  async waitFor(text: string, from = 0, timeoutMs = 10_000): Promise<number> {
    return waitFor(
      `a notification with ${text} (got ${JSON.stringify(this.messages)})`,
      () => {
        const index = this.messages.findIndex((m, i) => i >= from && m.split('\n').includes(text));
        return index >= 0 ? index : undefined;
      },
      { timeoutMs },
    );
  }

  close(): void {
    this.child.kill('SIGKILL');
  }
}
