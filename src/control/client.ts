import { connect } from 'node:net';
import { isErrorCode } from '../error-codes.js';
import { LbctlError } from '../errors.js';
import type { Command, ErrorBody, Response } from './protocol.js';

/** A refused request: the daemon's error, with its code, field and details. */
export class ControlRequestError extends LbctlError {
  constructor(readonly body: ErrorBody) {
    // A code this client does not know means the daemon spoke another version.
    super(isErrorCode(body.code) ? body.code : 'CONTROL_PROTOCOL', body.message);
  }
}

export interface RequestOptions {
  readonly path: string;
  readonly instance: string;
  /** Streamed partial results (e.g. chunks of connections). */
  readonly onMore?: (result: unknown) => void;
  /** Gives up after this long without a final reply (default 300 s: a large reload). */
  readonly timeoutMs?: number;
}

/** Sends one request to an instance's control socket and resolves with its final result. */
export function controlRequest(
  command: Command,
  args: Record<string, unknown>,
  options: RequestOptions,
): Promise<unknown> {
  const { path, instance } = options;
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffered = '';
    let settled = false;
    const finish = (err: Error | undefined, result?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(result);
    };
    const timeoutMs = options.timeoutMs ?? 300_000;
    const timer = setTimeout(
      () =>
        finish(
          new LbctlError(
            'CONTROL_TIMEOUT',
            `Cannot ${command} instance '${instance}': no answer within ${timeoutMs / 1000} s`,
          ),
        ),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, command, args })}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(connectError(err, command, instance, path)),
    );
    socket.on('close', () =>
      finish(
        new LbctlError(
          'CONTROL_CLOSED',
          `Cannot ${command} instance '${instance}': the daemon closed the connection without an answer`,
        ),
      ),
    );
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      buffered += data;
      let newline = buffered.indexOf('\n');
      while (newline >= 0 && !settled) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        let response: Response;
        try {
          response = JSON.parse(line) as Response;
        } catch {
          finish(
            new LbctlError(
              'CONTROL_PROTOCOL',
              `Cannot ${command}: the daemon sent a line that is not JSON`,
            ),
          );
          return;
        }
        if (!response.ok) finish(new ControlRequestError(response.error));
        else if (response.more === true) options.onMore?.(response.result);
        else finish(undefined, response.result);
      }
    });
  });
}

function connectError(
  err: NodeJS.ErrnoException,
  command: string,
  instance: string,
  path: string,
): Error {
  const action = `Cannot ${command} instance '${instance}'`;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return new LbctlError(
        'CONTROL_PERMISSION',
        `${action}: permission denied on ${path}; the control socket is for root only (run as root or with sudo)`,
      );
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new LbctlError(
        'CONTROL_NOT_RUNNING',
        `${action}: no lbctl runs it (nothing listens on ${path}); start it with lbctl up or pick another with --instance`,
      );
    default:
      return new LbctlError('CONTROL_CONNECT', `${action}: ${err.message}`);
  }
}
