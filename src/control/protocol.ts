/**
 * The control socket's protocol: newline-delimited JSON, one request line,
 * then response lines for it (several for a streamed answer), on a Unix
 * socket only root can open. docs/operations.md documents it.
 *
 *   request:  {"id":1,"command":"status","args":{...}}
 *   reply:    {"id":1,"ok":true,"result":...}
 *   stream:   {"id":1,"ok":true,"more":true,"result":[...]} ... then a final reply
 *   error:    {"id":1,"ok":false,"error":{"code":"...","message":"...","field":"args.weight"}}
 */
import type { ErrorCode } from '../error-codes.js';
import { LbctlError } from '../errors.js';

/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A connection that sends no complete request for this long is closed. */
export const IDLE_TIMEOUT_MS = 10_000;
/** Connections served at once; more wait in the kernel's backlog. */
export const MAX_CONNECTIONS = 16;

export const COMMANDS = [
  'ping',
  'status',
  'connections',
  'real.set-weight',
  'real.quiesce',
  'real.restore',
  'reload',
] as const;
export type Command = (typeof COMMANDS)[number];

export interface Request {
  readonly id: number | string | null;
  readonly command: Command;
  readonly args: Readonly<Record<string, unknown>>;
}

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** Every problem, e.g. each configuration error of a refused reload. */
  readonly details?: readonly string[];
}

export type Response =
  | {
      readonly id: Request['id'];
      readonly ok: true;
      readonly more?: true;
      readonly result: unknown;
    }
  | { readonly id: Request['id']; readonly ok: false; readonly error: ErrorBody };

/** A bad request: names the field at fault. */
export class RequestError extends LbctlError {
  constructor(
    readonly field: string,
    message: string,
    code: ErrorCode = 'CONTROL_BAD_REQUEST',
  ) {
    super(code, message);
  }
}

/** Parses and checks one request line. */
export function parseRequest(line: string): Request {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RequestError('request', 'Cannot read the request: it is not one line of JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError('request', 'Cannot read the request: it must be a JSON object');
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'id' && key !== 'command' && key !== 'args') {
      throw new RequestError(key, `Cannot read the request: unknown field "${key}"`);
    }
  }
  const id = o.id ?? null;
  if (id !== null && typeof id !== 'number' && typeof id !== 'string') {
    throw new RequestError('id', 'Cannot read the request: id must be a number or a string');
  }
  if (typeof o.command !== 'string' || !(COMMANDS as readonly string[]).includes(o.command)) {
    throw new RequestError(
      'command',
      `Cannot read the request: command must be one of ${COMMANDS.join(', ')}`,
    );
  }
  const args = o.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new RequestError('args', 'Cannot read the request: args must be a JSON object');
  }
  return { id, command: o.command as Command, args: args as Record<string, unknown> };
}

/** Typed readers for request arguments; each error names args.<field>. */
export const arg = {
  string(args: Request['args'], name: string): string {
    const v = args[name];
    if (typeof v !== 'string' || v.length === 0) {
      throw new RequestError(
        `args.${name}`,
        `Cannot read args.${name}: expected a non-empty string`,
      );
    }
    return v;
  },
  integer(args: Request['args'], name: string, min: number, max: number): number {
    const v = args[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new RequestError(
        `args.${name}`,
        `Cannot read args.${name}: expected an integer from ${min} to ${max}`,
      );
    }
    return v;
  },
  optionalInteger(
    args: Request['args'],
    name: string,
    min: number,
    max: number,
  ): number | undefined {
    return args[name] === undefined ? undefined : arg.integer(args, name, min, max);
  },
  optionalBoolean(args: Request['args'], name: string): boolean | undefined {
    const v = args[name];
    if (v !== undefined && typeof v !== 'boolean') {
      throw new RequestError(`args.${name}`, `Cannot read args.${name}: expected true or false`);
    }
    return v;
  },
  oneOf<T extends string>(args: Request['args'], name: string, values: readonly T[]): T {
    const v = args[name];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new RequestError(
        `args.${name}`,
        `Cannot read args.${name}: expected one of ${values.join(', ')}`,
      );
    }
    return v as T;
  },
};

/** The error body sent for a failure: LbctlErrors keep their code, anything else is internal. */
export function errorBody(err: unknown): ErrorBody {
  if (err instanceof RequestError)
    return { code: err.code, message: err.message, field: err.field };
  if (err instanceof LbctlError) {
    const details = (err as { details?: unknown }).details;
    return {
      code: err.code,
      message: err.message,
      ...(Array.isArray(details) ? { details: details.map(String) } : {}),
    };
  }
  return {
    code: 'CONTROL_INTERNAL',
    message: `Cannot complete the request: ${(err as Error)?.message ?? String(err)}`,
  };
}
