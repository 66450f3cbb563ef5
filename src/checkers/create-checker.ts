import net from 'node:net';
import { formatEndpoint } from '../net/endpoint.js';
import type { RetryPolicy } from './check-state.js';
import { CheckerConfigError } from './checker-error.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DELAY_LOOP_MS,
  defaultDelayBeforeRetryMs,
  defaultRetry,
} from './defaults.js';
import { DnsChecker } from './dns-check.js';
import { HttpGetChecker } from './http-get-check.js';
import type { IcmpEchoer } from './icmp-echoer.js';
import { MiscChecker } from './misc-check.js';
import type { CheckerConfig, CheckTimingOptions } from './options.js';
import { PingChecker } from './ping-check.js';
import { SmtpChecker } from './smtp-check.js';
import { TcpChecker } from './tcp-check.js';
import type { Checker, ConnectOptions } from './types.js';
import { UdpChecker } from './udp-check.js';

/** The real server a checker belongs to. */
export interface RealEndpoint {
  readonly address: string;
  readonly port: number;
}

/** A checker with its resolved schedule. */
export interface BuiltCheck {
  readonly checker: Checker;
  readonly policy: RetryPolicy & { readonly warmupMs: number; readonly alpha: boolean };
}

export interface CreateCheckerDeps {
  /** Needed for PING_CHECK. */
  readonly icmpEchoer?: IcmpEchoer;
}

/**
 * Builds a checker from its options, filling in what it inherits from the
 * real and virtual server (`inherited`, nearest first) and keepalived's
 * per-type defaults. Throws CheckerConfigError naming the checker and real.
 */
export function createChecker(
  config: CheckerConfig,
  real: RealEndpoint,
  inherited: readonly CheckTimingOptions[] = [],
  deps: CreateCheckerDeps = {},
): BuiltCheck {
  const where = `${config.type} of real server ${formatEndpoint(real.address, real.port)}`;
  const pick = <K extends keyof CheckTimingOptions>(
    key: K,
  ): NonNullable<CheckTimingOptions[K]> | undefined => {
    for (const layer of [config, ...inherited]) {
      const value = layer[key];
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  };
  const delayLoopMs = duration(where, 'delay_loop', pick('delayLoopMs') ?? DEFAULT_DELAY_LOOP_MS);
  if (delayLoopMs === 0)
    throw new CheckerConfigError(`Cannot build ${where}: delay_loop must be > 0`);
  const policy = {
    delayLoopMs,
    retry: count(where, 'retry', pick('retry') ?? defaultRetry(config.type)),
    delayBeforeRetryMs: duration(
      where,
      'delay_before_retry',
      pick('delayBeforeRetryMs') ?? defaultDelayBeforeRetryMs(config.type, delayLoopMs),
    ),
    warmupMs: duration(where, 'warmup', pick('warmupMs') ?? delayLoopMs),
    alpha: pick('alpha') ?? false,
  };
  const connectTimeoutMs = duration(
    where,
    'connect_timeout',
    pick('connectTimeoutMs') ?? DEFAULT_CONNECT_TIMEOUT_MS,
  );
  if (connectTimeoutMs === 0) {
    throw new CheckerConfigError(`Cannot build ${where}: connect_timeout must be > 0`);
  }

  if (config.type === 'MISC_CHECK') {
    const timeoutMs = duration(where, 'misc_timeout', config.miscTimeoutMs ?? delayLoopMs);
    const checker = new MiscChecker({
      path: config.path,
      timeoutMs: timeoutMs === 0 ? delayLoopMs : timeoutMs,
      ...(config.dynamic !== undefined ? { dynamic: config.dynamic } : {}),
      ...(config.user !== undefined ? { user: config.user } : {}),
    });
    return { checker, policy };
  }

  const connectIp = config.connectIp ?? real.address;
  if (net.isIP(connectIp) === 0) {
    throw new CheckerConfigError(
      `Cannot build ${where}: connect_ip "${connectIp}" is not an IP address`,
    );
  }
  if (config.bindTo !== undefined && net.isIP(config.bindTo) === 0) {
    throw new CheckerConfigError(
      `Cannot build ${where}: bindto "${config.bindTo}" is not an IP address`,
    );
  }
  const connect: ConnectOptions = {
    connectIp,
    connectPort: port(where, 'connect_port', config.connectPort ?? real.port),
    connectTimeoutMs,
    ...(config.bindTo !== undefined ? { bindTo: config.bindTo } : {}),
    ...(config.bindPort !== undefined
      ? { bindPort: port(where, 'bind_port', config.bindPort) }
      : {}),
  };

  switch (config.type) {
    case 'TCP_CHECK':
      return { checker: new TcpChecker(connect), policy };
    case 'HTTP_GET':
      return {
        checker: new HttpGetChecker({
          ...connect,
          urls: config.urls,
          ...(config.virtualhost !== undefined ? { virtualhost: config.virtualhost } : {}),
          ...(config.httpProtocol !== undefined ? { httpProtocol: config.httpProtocol } : {}),
        }),
        policy,
      };
    case 'SSL_GET': {
      const { enableSni, verify, ca, cert, key } = config;
      return {
        checker: new HttpGetChecker({
          ...connect,
          urls: config.urls,
          ...(config.virtualhost !== undefined ? { virtualhost: config.virtualhost } : {}),
          ...(config.httpProtocol !== undefined ? { httpProtocol: config.httpProtocol } : {}),
          tls: {
            ...(enableSni !== undefined ? { enableSni } : {}),
            ...(verify !== undefined ? { verify } : {}),
            ...(ca !== undefined ? { ca } : {}),
            ...(cert !== undefined ? { cert } : {}),
            ...(key !== undefined ? { key } : {}),
          },
        }),
        policy,
      };
    }
    case 'SMTP_CHECK':
      return {
        checker: new SmtpChecker({
          ...connect,
          ...(config.heloName !== undefined ? { heloName: config.heloName } : {}),
        }),
        policy,
      };
    case 'DNS_CHECK':
      return {
        checker: new DnsChecker({
          ...connect,
          ...(config.queryType !== undefined ? { type: config.queryType } : {}),
          ...(config.name !== undefined ? { name: config.name } : {}),
        }),
        policy,
      };
    case 'UDP_CHECK': {
      const { payload, requireReply, minReplyLength, maxReplyLength } = config;
      return {
        checker: new UdpChecker({
          ...connect,
          ...(payload !== undefined ? { payload } : {}),
          ...(requireReply !== undefined ? { requireReply } : {}),
          ...(minReplyLength !== undefined ? { minReplyLength } : {}),
          ...(maxReplyLength !== undefined ? { maxReplyLength } : {}),
        }),
        policy,
      };
    }
    case 'PING_CHECK': {
      if (deps.icmpEchoer === undefined) {
        throw new CheckerConfigError(`Cannot build ${where}: no ICMP echo socket is available`);
      }
      return {
        checker: new PingChecker(
          {
            connectIp,
            connectTimeoutMs,
            ...(config.bindTo !== undefined ? { bindTo: config.bindTo } : {}),
          },
          deps.icmpEchoer,
        ),
        policy,
      };
    }
  }
}

function duration(where: string, name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new CheckerConfigError(
      `Cannot build ${where}: ${name} ${value} must be a duration >= 0 ms`,
    );
  }
  return value;
}

function count(where: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new CheckerConfigError(`Cannot build ${where}: ${name} ${value} must be an integer >= 0`);
  }
  return value;
}

function port(where: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new CheckerConfigError(`Cannot build ${where}: ${name} ${value} is not a port (1-65535)`);
  }
  return value;
}
