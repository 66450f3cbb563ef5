import { EventEmitter } from 'node:events';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import tls from 'node:tls';

/** A response as the checker reads it: the status, then the body as a stream. */
export type Http10Response = PassThrough & { readonly statusCode: number };

export interface Http10Options {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Header lines in order, e.g. [['Host', 'example'], ['Connection', 'close']]. */
  readonly headers: readonly (readonly [string, string])[];
  readonly localAddress?: string;
  readonly localPort?: number;
  /** Present for SSL_GET: the TLS connection's options. */
  readonly tls?: tls.ConnectionOptions;
}

/** The request's bytes: request line and header lines, Latin-1, then the empty line. */
export function http10Request(
  path: string,
  headers: readonly (readonly [string, string])[],
): Buffer {
  const lines = [`GET ${path} HTTP/1.0`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Status line and headers larger than this are not a health-check answer. */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * One HTTP/1.0 GET, for http_protocol 1.0 and 1.0C: Node's client always
 * speaks HTTP/1.1, and keepalived's default request line is HTTP/1.0. Emits
 * 'response' (an Http10Response) or 'error', as http.ClientRequest does, so
 * the checker reads both the same way. The body ends at Content-Length or
 * when the server closes the connection, which HTTP/1.0 servers do.
 */
export class Http10Request extends EventEmitter {
  private socket: net.Socket | undefined;
  private head: Buffer = Buffer.alloc(0);
  private response: Http10Response | undefined;
  /** Body bytes still expected, when the server gave a Content-Length. */
  private remaining: number | undefined;
  private finished = false;

  constructor(private readonly options: Http10Options) {
    super();
  }

  /** Connects and sends the request (named after ClientRequest.end). */
  end(): void {
    const o = this.options;
    const local = {
      ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
      ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
    };
    const socket =
      o.tls === undefined
        ? net.connect({ host: o.host, port: o.port, ...local })
        : tls.connect({ host: o.host, port: o.port, ...local, ...o.tls });
    this.socket = socket;
    socket.write(http10Request(o.path, o.headers));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.fail(err));
  }

  destroy(): void {
    this.finished = true;
    this.socket?.destroy();
    if (this.response !== undefined && !this.response.writableEnded) this.response.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    if (this.response !== undefined) {
      this.body(chunk);
      return;
    }
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    const end = this.head.indexOf(HEAD_END);
    if (end < 0) {
      if (this.head.length > MAX_HEAD_BYTES)
        this.fail(new Error(`response headers exceed ${MAX_HEAD_BYTES} bytes`));
      return;
    }
    const lines = this.head.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/\d\.\d (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (status === null) {
      this.fail(new Error(`malformed status line "${(lines[0] ?? '').slice(0, 80)}"`));
      return;
    }
    const length = lines
      .map((line) => /^content-length:\s*(\d+)\s*$/i.exec(line)?.[1])
      .find((v) => v !== undefined);
    if (length !== undefined) this.remaining = Number(length);
    const rest = this.head.subarray(end + HEAD_END.length);
    this.head = Buffer.alloc(0);
    const response = Object.assign(new PassThrough(), { statusCode: Number(status[1]) });
    this.response = response;
    this.emit('response', response);
    if (rest.length > 0 || this.remaining === 0) this.body(rest);
  }

  private body(chunk: Buffer): void {
    const response = this.response as Http10Response;
    if (this.remaining === undefined) {
      response.write(chunk);
      return;
    }
    const take = chunk.subarray(0, this.remaining);
    this.remaining -= take.length;
    if (take.length > 0) response.write(take);
    if (this.remaining === 0) {
      this.finished = true;
      response.end();
      this.socket?.destroy();
    }
  }

  private onEnd(): void {
    if (this.finished) return;
    this.finished = true;
    const response = this.response;
    if (response === undefined)
      this.emit('error', new Error('connection closed before a response'));
    else if (this.remaining !== undefined && this.remaining > 0)
      response.destroy(new Error('connection closed before the whole body arrived'));
    else response.end();
  }

  private fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.socket?.destroy();
    if (this.response !== undefined) this.response.destroy(err);
    else this.emit('error', err);
  }
}
