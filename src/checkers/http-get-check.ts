import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { formatEndpoint } from '../net/endpoint.js';
import { CheckerConfigError } from './checker-error.js';
import { Http10Request, type Http10Response, http10Request } from './http10-request.js';
import { DEFAULT_STATUS_CODES, type StatusCodeRange, statusAccepted } from './status-codes.js';
import { probeHttp } from './tcp-probe.js';
import type { Checker, CheckResult, ConnectOptions } from './types.js';

const USER_AGENT = 'lbctl-healthcheck';

/** One `url { }` block of HTTP_GET / SSL_GET. */
export interface HttpUrlOptions {
  readonly path: string;
  /** MD5 of the body as 32 hex digits (keepalived's genhash output). */
  readonly digest?: string;
  /** Accepted statuses; default 200-299. */
  readonly statusCodes?: readonly StatusCodeRange[];
  /** Host header for this url; falls back to the checker's virtualhost. */
  readonly virtualhost?: string;
}

/** SSL_GET's TLS settings. Without `verify` the certificate is not checked (keepalived's default). */
export interface TlsOptions {
  /** enable_sni: send the virtualhost as Server Name Indication. */
  readonly enableSni?: boolean;
  /** Check the server certificate against `ca` (or the system store) and the name. */
  readonly verify?: boolean;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface HttpGetOptions extends ConnectOptions {
  readonly urls: readonly HttpUrlOptions[];
  /** Default Host header (from the checker, real or virtual server). */
  readonly virtualhost?: string;
  /** Present for SSL_GET. */
  readonly tls?: TlsOptions;
  /**
   * http_protocol: the request line's version. 1.0 (keepalived's default)
   * sends no Connection header, 1.0C adds "Connection: close", 1.1 sends it too.
   */
  readonly httpProtocol?: HttpProtocol;
}

export type HttpProtocol = '1.0' | '1.0C' | '1.1';

/**
 * HTTP_GET and SSL_GET: every url must answer with an accepted status and,
 * when a digest is configured, a body whose MD5 matches. Urls are checked in
 * order within one run (keepalived's fast_recovery behaviour).
 */
export class HttpGetChecker implements Checker {
  readonly kind: 'HTTP_GET' | 'SSL_GET';
  readonly target: string;
  readonly timeoutMs: number;
  /** The prober's request bytes per url: the same at every check. */
  private readonly requests = new Map<HttpUrlOptions, Buffer>();

  constructor(private readonly options: HttpGetOptions) {
    if (options.urls.length === 0) {
      throw new CheckerConfigError(`Cannot build ${this.kindName()}: no url block is configured`);
    }
    for (const url of options.urls) {
      if (!url.path.startsWith('/')) {
        throw new CheckerConfigError(
          `Cannot build ${this.kindName()}: url path "${url.path}" must start with "/"`,
        );
      }
      if (url.digest !== undefined && !/^[0-9a-fA-F]{32}$/.test(url.digest)) {
        throw new CheckerConfigError(
          `Cannot build ${this.kindName()}: digest "${url.digest}" for ${url.path} is not 32 hex digits`,
        );
      }
    }
    this.kind = this.kindName();
    this.target = formatEndpoint(options.connectIp, options.connectPort);
    this.timeoutMs = options.connectTimeoutMs;
  }

  private kindName(): 'HTTP_GET' | 'SSL_GET' {
    return this.options.tls === undefined ? 'HTTP_GET' : 'SSL_GET';
  }

  async check(signal: AbortSignal): Promise<CheckResult> {
    for (const url of this.options.urls) {
      const result = await this.checkUrl(url, signal);
      if (!result.ok) return result;
    }
    return { ok: true };
  }

  private checkUrl(url: HttpUrlOptions, signal: AbortSignal): Promise<CheckResult> {
    const o = this.options;
    const vhost = url.virtualhost ?? o.virtualhost;
    const hostHeader = vhost ?? formatEndpoint(o.connectIp, o.connectPort);
    const protocol = o.httpProtocol ?? '1.0';
    const ranges = url.statusCodes ?? DEFAULT_STATUS_CODES;
    const where = `(GET ${url.path})`;
    const headers: (readonly [string, string])[] = [
      ['User-Agent', USER_AGENT],
      ['Host', hostHeader],
      ...(protocol === '1.0C' ? [['Connection', 'close'] as const] : []),
    ];
    // Plain HTTP/1.0 with only the status to check (the common url): through the
    // addon's prober, no Node socket (src/checkers/tcp-probe.ts).
    if (protocol !== '1.1' && o.tls === undefined && url.digest === undefined) {
      let request = this.requests.get(url);
      if (request === undefined) {
        request = http10Request(url.path, headers);
        this.requests.set(url, request);
      }
      return probeHttp(o, request, ranges, signal).then(({ status, accepted }) =>
        accepted ? { ok: true } : { ok: false, reason: `status ${status} ${where}` },
      );
    }
    const tlsOptions =
      o.tls === undefined
        ? undefined
        : {
            rejectUnauthorized: o.tls.verify === true,
            // Node would otherwise derive SNI from the Host header; keepalived sends none by default.
            servername: o.tls.enableSni === true && vhost !== undefined ? vhost : '',
            // Verify the name the server is known by, whether or not it went out as SNI.
            checkServerIdentity: (_host: string, cert: PeerCertificate) =>
              checkServerIdentity(vhost ?? o.connectIp, cert),
            ...(o.tls.ca !== undefined ? { ca: o.tls.ca } : {}),
            ...(o.tls.cert !== undefined ? { cert: o.tls.cert } : {}),
            ...(o.tls.key !== undefined ? { key: o.tls.key } : {}),
          };

    return new Promise<CheckResult>((resolve, reject) => {
      let request: http.ClientRequest | Http10Request;
      if (protocol === '1.1') {
        const common: http.RequestOptions = {
          host: o.connectIp,
          port: o.connectPort,
          path: url.path,
          method: 'GET',
          agent: false,
          headers: { Host: hostHeader, 'User-Agent': USER_AGENT, Connection: 'close' },
          ...(o.bindTo !== undefined ? { localAddress: o.bindTo } : {}),
          ...(o.bindPort !== undefined ? { localPort: o.bindPort } : {}),
        };
        request =
          tlsOptions === undefined
            ? http.request(common)
            : https.request({ ...common, ...tlsOptions });
      } else {
        request = new Http10Request({
          host: o.connectIp,
          port: o.connectPort,
          path: url.path,
          headers,
          ...(o.bindTo !== undefined ? { localAddress: o.bindTo } : {}),
          ...(o.bindPort !== undefined ? { localPort: o.bindPort } : {}),
          ...(tlsOptions !== undefined ? { tls: tlsOptions } : {}),
        });
      }
      const onAbort = (): void => {
        request.destroy();
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (result: CheckResult): void => {
        signal.removeEventListener('abort', onAbort);
        request.destroy();
        resolve(result);
      };
      request.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
      request.on('response', (response: http.IncomingMessage | Http10Response) => {
        response.on('error', (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        });
        const status = response.statusCode ?? 0;
        if (!statusAccepted(status, ranges)) {
          done({ ok: false, reason: `status ${status} ${where}` });
          return;
        }
        if (url.digest === undefined) {
          // The body is still read to the end so a server failing mid-body is noticed.
          response.resume();
          response.on('end', () => done({ ok: true }));
          return;
        }
        const hash = createHash('md5');
        response.on('data', (chunk: Buffer) => hash.update(chunk));
        response.on('end', () => {
          const got = hash.digest('hex');
          if (got === url.digest?.toLowerCase()) {
            done({ ok: true });
          } else {
            done({ ok: false, reason: `digest mismatch ${where}: got ${got}` });
          }
        });
      });
      request.end();
    });
  }
}
