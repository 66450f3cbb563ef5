/**
 * Translates configured virtual servers into the options of the health
 * modules (checkers, quorum, scripts). The configuration is already fully
 * resolved, so every timing value is passed on as it is.
 */
import { readFileSync } from 'node:fs';
import type { CheckerConfig } from '../checkers/options.js';
import { forwardingOf } from '../config/data-plane-choice.js';
import type {
  Checker,
  GlobalSettings,
  RealServer,
  ScriptCommand,
  SslSettings,
  VirtualServer,
} from '../config/model.js';
import { LbctlError } from '../errors.js';
import type {
  RealServerOptions,
  ScriptOptions,
  VirtualServerHealthOptions,
} from '../health/options.js';
import { canonicalAddress } from '../net/address.js';

/** TLS material for SSL_GET, read once at start from the SSL block's files. */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export function readTlsMaterial(ssl: SslSettings | undefined): TlsMaterial {
  if (ssl === undefined) return {};
  const read = (what: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new LbctlError(
        'SSL_FILE_UNREADABLE',
        `Cannot read the SSL ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };
  const ca = read('ca', ssl.ca);
  const cert = read('certificate', ssl.certificate);
  const key = read('key', ssl.key);
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}

export function healthOptions(
  name: string,
  vs: VirtualServer,
  global: GlobalSettings,
  tls: TlsMaterial,
): VirtualServerHealthOptions {
  const script = (command: ScriptCommand | undefined) => scriptOptions(command, global);
  const quorumUp = script(vs.quorumUp);
  const quorumDown = script(vs.quorumDown);
  return {
    name,
    delayLoopMs: vs.delayLoopMs,
    alpha: vs.alpha,
    quorum: vs.quorum,
    hysteresis: vs.hysteresis,
    inhibitOnFailure: vs.inhibitOnFailure,
    omega: vs.omega,
    haSuspend: vs.haSuspend,
    ...(quorumUp !== undefined ? { quorumUp } : {}),
    ...(quorumDown !== undefined ? { quorumDown } : {}),
    ...(vs.sorryServer !== undefined
      ? {
          sorryServer: {
            address: canonicalAddress(vs.sorryServer.address),
            port: vs.sorryServer.port,
            forwarding: forwardingOf(vs.sorryServer.lbKind),
            inhibit: vs.sorryServer.inhibit,
          },
        }
      : {}),
    reals: vs.realServers.map((rs) => realOptions(rs, vs, global, tls)),
  };
}

function realOptions(
  rs: RealServer,
  vs: VirtualServer,
  global: GlobalSettings,
  tls: TlsMaterial,
): RealServerOptions {
  const notifyUp = scriptOptions(rs.notifyUp, global);
  const notifyDown = scriptOptions(rs.notifyDown, global);
  return {
    address: canonicalAddress(rs.address),
    port: rs.port,
    weight: rs.weight,
    forwarding: forwardingOf(rs.lbKind),
    inhibitOnFailure: rs.inhibitOnFailure,
    ...(notifyUp !== undefined ? { notifyUp } : {}),
    ...(notifyDown !== undefined ? { notifyDown } : {}),
    checkers: rs.checkers.map((c) => checkerConfig(c, rs, vs, tls)),
  };
}

function checkerConfig(
  c: Checker,
  rs: RealServer,
  vs: VirtualServer,
  tls: TlsMaterial,
): CheckerConfig {
  const timing = {
    delayLoopMs: c.delayLoopMs,
    retry: c.retry,
    delayBeforeRetryMs: c.delayBeforeRetryMs,
    warmupMs: c.warmupMs,
  };
  if (c.type === 'MISC_CHECK') {
    return {
      type: 'MISC_CHECK',
      ...timing,
      path: c.path,
      dynamic: c.dynamic,
      ...(c.timeoutMs !== undefined ? { miscTimeoutMs: c.timeoutMs } : {}),
      ...(c.user !== undefined
        ? { user: { user: c.user, ...(c.group !== undefined ? { group: c.group } : {}) } }
        : {}),
    };
  }
  const common = {
    ...timing,
    connectTimeoutMs: c.connectTimeoutMs,
    ...(c.connectIp !== undefined ? { connectIp: c.connectIp } : {}),
    ...(c.connectPort !== undefined ? { connectPort: c.connectPort } : {}),
    ...(c.bindTo !== undefined ? { bindTo: c.bindTo } : {}),
  };
  switch (c.type) {
    case 'TCP_CHECK':
      return { type: 'TCP_CHECK', ...common };
    case 'PING_CHECK':
      return { type: 'PING_CHECK', ...common };
    case 'SMTP_CHECK':
      return {
        type: 'SMTP_CHECK',
        ...common,
        ...(c.heloName !== undefined ? { heloName: c.heloName } : {}),
      };
    case 'DNS_CHECK':
      return { type: 'DNS_CHECK', ...common, queryType: c.queryType, name: c.name };
    case 'UDP_CHECK':
      return {
        type: 'UDP_CHECK',
        ...common,
        ...(c.payload !== undefined ? { payload: c.payload } : {}),
        ...(c.requireReply ? { requireReply: c.replyPattern ?? true } : {}),
        minReplyLength: c.minReplyLength,
        maxReplyLength: c.maxReplyLength,
      };
    case 'HTTP_GET':
    case 'SSL_GET': {
      const virtualhost = c.virtualhost ?? rs.virtualhost ?? vs.virtualhost;
      const urls = c.urls.map((u) => ({
        path: u.path,
        statusCodes: u.statusCodes,
        ...(u.digest !== undefined ? { digest: u.digest } : {}),
        ...(u.virtualhost !== undefined ? { virtualhost: u.virtualhost } : {}),
      }));
      const host = virtualhost !== undefined ? { virtualhost } : {};
      const httpProtocol = c.httpProtocol;
      if (c.type === 'HTTP_GET')
        return { type: 'HTTP_GET', ...common, urls, ...host, httpProtocol };
      return {
        type: 'SSL_GET',
        ...common,
        urls,
        ...host,
        httpProtocol,
        enableSni: c.enableSni,
        // keepalived checks the certificate only when it is given a CA to check against.
        verify: tls.ca !== undefined,
        ...tls,
      };
    }
  }
}

/** A script with its user; script_user from global_defs applies when the script names none. */
function scriptOptions(
  command: ScriptCommand | undefined,
  global: GlobalSettings,
): ScriptOptions | undefined {
  if (command === undefined) return undefined;
  const user = command.user ?? global.scriptUser;
  const group = command.user !== undefined ? command.group : global.scriptGroup;
  if (user === undefined) return { command: command.command };
  return { command: command.command, user: { user, ...(group !== undefined ? { group } : {}) } };
}
