import type { HttpProtocol, HttpUrlOptions } from './http-get-check.js';
import type { RunAs } from './system-user.js';

/**
 * Timing options a checker can take from itself, its real server or its
 * virtual server (the nearest one set wins). Times are in milliseconds.
 */
export interface CheckTimingOptions {
  readonly delayLoopMs?: number;
  readonly connectTimeoutMs?: number;
  /** retry, also spelt nb_get_retry. */
  readonly retry?: number;
  readonly delayBeforeRetryMs?: number;
  readonly warmupMs?: number;
  readonly alpha?: boolean;
}

/** connect_ip, connect_port, bindto, bind_port. */
export interface ConnectionOptions {
  readonly connectIp?: string;
  readonly connectPort?: number;
  readonly bindTo?: string;
  readonly bindPort?: number;
}

type Common = CheckTimingOptions & ConnectionOptions;

export interface TcpCheckConfig extends Common {
  readonly type: 'TCP_CHECK';
}

export interface HttpGetCheckConfig extends Common {
  readonly type: 'HTTP_GET';
  readonly urls: readonly HttpUrlOptions[];
  readonly virtualhost?: string;
  /** http_protocol; keepalived's default is 1.0. */
  readonly httpProtocol?: HttpProtocol;
}

export interface SslGetCheckConfig extends Common {
  readonly type: 'SSL_GET';
  readonly urls: readonly HttpUrlOptions[];
  readonly virtualhost?: string;
  readonly httpProtocol?: HttpProtocol;
  readonly enableSni?: boolean;
  readonly verify?: boolean;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface SmtpCheckConfig extends Common {
  readonly type: 'SMTP_CHECK';
  readonly heloName?: string;
}

export interface DnsCheckConfig extends Common {
  readonly type: 'DNS_CHECK';
  /** DNS query type (keepalived's `type`). */
  readonly queryType?: string;
  readonly name?: string;
}

export interface UdpCheckConfig extends Common {
  readonly type: 'UDP_CHECK';
  readonly payload?: string;
  readonly requireReply?: true | string;
  readonly minReplyLength?: number;
  readonly maxReplyLength?: number;
}

export interface PingCheckConfig extends Common {
  readonly type: 'PING_CHECK';
}

/** MISC_CHECK has no connection options. */
export interface MiscCheckConfig extends CheckTimingOptions {
  readonly type: 'MISC_CHECK';
  readonly path: string;
  /** misc_timeout in milliseconds; defaults to the delay_loop. */
  readonly miscTimeoutMs?: number;
  readonly dynamic?: boolean;
  readonly user?: RunAs;
}

/** One checker block of a real server. */
export type CheckerConfig =
  | TcpCheckConfig
  | HttpGetCheckConfig
  | SslGetCheckConfig
  | SmtpCheckConfig
  | DnsCheckConfig
  | UdpCheckConfig
  | PingCheckConfig
  | MiscCheckConfig;

export type CheckerType = CheckerConfig['type'];
