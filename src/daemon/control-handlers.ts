/**
 * The control socket's commands, bound to the running services. Each reads
 * its arguments with the protocol's typed readers, so a bad request is
 * answered with the field at fault before anything changes.
 */
import { isIP } from 'node:net';
import { arg, type Request, RequestError } from '../control/protocol.js';
import type { Handler } from '../control/server.js';
import { connectionTuple, listConnections } from '../dataplane/conn-listing.js';
import type { ServiceKey } from '../dataplane/dataplane.js';
import { listIpvsConnections } from '../dataplane/ipvs/ipvs-connections.js';
import { kernelHz } from '../dataplane/kernel-hz.js';
import { programNowNs } from '../dataplane/program-clock.js';
import { canonicalAddress } from '../net/address.js';
import { collectStatus, connTableMaps } from '../status/status-collector.js';
import type { ReloadOutcome } from './reload.js';
import { sendStatus } from './status-answer.js';
import type { VirtualServerService } from './virtual-server-service.js';
import type { VrrpRunner } from './vrrp-runner.js';

export interface ControlTargets {
  readonly instance: string;
  readonly vrrp: VrrpRunner | undefined;
  readonly virtualServers: VirtualServerService | undefined;
  readonly reload: () => Promise<ReloadOutcome>;
}

/** Longest rate window a client may ask for. */
const MAX_RATE_WINDOW_MS = 10_000;

export function controlHandlers(targets: ControlTargets): Record<Request['command'], Handler> {
  const vs = targets.virtualServers;
  const statusSources = {
    instance: targets.instance,
    plane: () => vs?.xdp,
    ipvs: () => vs?.ipvs,
    overrideOf: (key: ServiceKey, address: string, port: number) =>
      vs?.overrideOf(key, address, port),
    configuredWeight: (key: ServiceKey, address: string, port: number) =>
      vs?.findReal(key, address, port)?.configuredWeight,
    vrrp: () => targets.vrrp?.instanceStatus() ?? [],
  };
  const requireVirtualServers = () => {
    if (vs === undefined)
      throw new RequestError(
        'command',
        'Cannot change a real: this instance runs no virtual servers',
        'RUNTIME_NO_VIRTUAL_SERVERS',
      );
    return vs;
  };
  return {
    ping: async () => ({ instance: targets.instance, pid: process.pid }),
    status: async (request, reply) => {
      const rate = arg.optionalBoolean(request.args, 'rate') === true;
      const window = arg.optionalInteger(request.args, 'rateWindowMs', 100, MAX_RATE_WINDOW_MS);
      const report = await collectStatus(
        statusSources,
        rate ? { rateWindowMs: window ?? 1000 } : {},
      );
      return sendStatus(report, reply);
    },
    connections: async (request, reply) => {
      const limit = arg.optionalInteger(request.args, 'limit', 1, Number.MAX_SAFE_INTEGER);
      // Rows go out as arrays: a full table is millions of them.
      const onChunk = (connections: readonly Parameters<typeof connectionTuple>[0][]) =>
        reply.more(connections.map(connectionTuple));
      let count = 0;
      const plane = vs?.xdp;
      if (plane !== undefined) {
        const nowNs = await programNowNs(kernelHz());
        count += await listConnections(connTableMaps(plane), {
          nowNs,
          ...(limit !== undefined ? { limit } : {}),
          onChunk,
        });
      }
      // Kernel IPVS's table, as ipvsadm -Lnc reads it, after XDP's.
      if (vs?.ipvs !== undefined && (limit === undefined || count < limit)) {
        count += await listIpvsConnections({
          ...(limit !== undefined ? { limit: limit - count } : {}),
          onChunk,
        });
      }
      return { count };
    },
    'real.set-weight': async (request) => {
      const target = realTarget(request);
      const weight = arg.integer(request.args, 'weight', 0, 65535);
      await requireVirtualServers().changeReal(target.service, target.address, target.port, {
        kind: 'weight',
        weight,
      });
      return { ...target, weight };
    },
    'real.quiesce': async (request) => {
      const target = realTarget(request);
      await requireVirtualServers().changeReal(target.service, target.address, target.port, {
        kind: 'quiesce',
      });
      return { ...target, weight: 0 };
    },
    'real.restore': async (request) => {
      const target = realTarget(request);
      await requireVirtualServers().changeReal(
        target.service,
        target.address,
        target.port,
        undefined,
      );
      return target;
    },
    reload: async () => targets.reload(),
  };
}

/** args: protocol (tcp|udp), vip, port, real, realPort. */
function realTarget(request: Request): { service: ServiceKey; address: string; port: number } {
  const protocol = arg.oneOf(request.args, 'protocol', ['tcp', 'udp'] as const);
  const vip = arg.string(request.args, 'vip');
  if (isIP(vip) === 0)
    throw new RequestError('args.vip', `Cannot read args.vip: '${vip}' is not an IP address`);
  const port = arg.integer(request.args, 'port', 0, 65535);
  const real = arg.string(request.args, 'real');
  if (isIP(real) === 0)
    throw new RequestError('args.real', `Cannot read args.real: '${real}' is not an IP address`);
  const realPort = arg.integer(request.args, 'realPort', 0, 65535);
  return {
    service: { protocol, vip: canonicalAddress(vip), port },
    address: canonicalAddress(real),
    port: realPort,
  };
}
