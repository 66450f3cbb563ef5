import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Service } from '../service.js';
import {
  type ErrorBody,
  errorBody,
  IDLE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_REQUEST_BYTES,
  parseRequest,
  type Request,
  RequestError,
  type Response,
} from './protocol.js';

/** Sends the lines of one answer; `more` lines precede the final reply. */
export interface Reply {
  more(result: unknown): Promise<void>;
}

/** Answers one request; the resolved value is the final result. */
export type Handler = (request: Request, reply: Reply) => Promise<unknown>;

export interface ControlServerOptions {
  readonly path: string;
  readonly handlers: Readonly<Partial<Record<Request['command'], Handler>>>;
  readonly logger: Logger;
}

/**
 * The instance's control socket. Mode 0600 in a root-owned directory, so only
 * root connects. Requests on one connection are answered in order; every
 * input is bounded (line length, idle time, connections at once).
 */
export class ControlServer implements Service {
  readonly name = 'control-socket';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly logger: Logger;

  constructor(private readonly options: ControlServerOptions) {
    this.logger = options.logger.child({ component: 'control' });
  }

  async start(): Promise<void> {
    const { path } = this.options;
    mkdirSync(dirnameOf(path), { recursive: true, mode: 0o755 });
    // The instance lock makes this process the only owner: a socket file left here is stale.
    try {
      unlinkSync(path);
    } catch {
      // absent
    }
    const server = createServer((socket) => this.serve(socket));
    server.maxConnections = MAX_CONNECTIONS;
    // The socket is created with mode 0600 from the start: no window where others may connect.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(path, 0o600);
    this.server = server;
    this.logger.info({ path }, `control socket at ${path}`);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.options.path);
    } catch {
      // already gone
    }
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    let queue = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      buffered += data;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim().length > 0) queue = queue.then(() => this.answer(socket, line));
        newline = buffered.indexOf('\n');
      }
      if (buffered.length > MAX_REQUEST_BYTES) {
        const error: ErrorBody = {
          code: 'CONTROL_REQUEST_TOO_LARGE',
          message: `Cannot read the request: a request line is limited to ${MAX_REQUEST_BYTES} bytes`,
          field: 'request',
        };
        socket.end(`${JSON.stringify({ id: null, ok: false, error })}\n`);
        buffered = '';
      }
    });
  }

  private async answer(socket: Socket, line: string): Promise<void> {
    if (socket.destroyed) return;
    let request: Request;
    try {
      request = parseRequest(line);
    } catch (err) {
      await write(socket, { id: null, ok: false, error: errorBody(err) });
      return;
    }
    const handler = this.options.handlers[request.command];
    // A long answer (reload, a full connection table) is not idle time.
    socket.setTimeout(0);
    try {
      if (handler === undefined) {
        throw new RequestError(
          'command',
          `Cannot run ${request.command}: this instance does not offer it`,
          'CONTROL_UNAVAILABLE',
        );
      }
      const reply: Reply = {
        more: (result) => write(socket, { id: request.id, ok: true, more: true, result }),
      };
      const result = await handler(request, reply);
      await write(socket, { id: request.id, ok: true, result: result ?? null });
    } catch (err) {
      if (!(err instanceof LbctlError)) {
        this.logger.error(
          { err, command: request.command },
          `control request ${request.command} failed`,
        );
      }
      await write(socket, { id: request.id, ok: false, error: errorBody(err) });
    } finally {
      if (!socket.destroyed) socket.setTimeout(IDLE_TIMEOUT_MS);
    }
  }
}

/** Writes one reply line, waiting for the socket to drain (a slow reader slows the stream). */
function write(socket: Socket, response: Response): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  const ok = socket.write(`${JSON.stringify(response)}\n`);
  if (ok) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
