/**
 * The checks every data plane makes before writing a service: ranges, the
 * shared LVS rules and its own capabilities. A data plane adds only what is
 * its own (XDP: a next hop per real, a tunnel source).
 */
import type { ErrorCode } from '../error-codes.js';
import { LbctlError } from '../errors.js';
import { type AddressFamily, canonicalAddress, ipFamily } from '../net/address.js';
import { type DataPlaneCapabilities, missingCapabilities } from './capabilities.js';
import {
  type Forwarding,
  fwmarkVip,
  type RealSpec,
  type ServiceKey,
  type ServiceSpec,
  serviceName,
  type TunnelChecksum,
  type TunnelType,
} from './dataplane.js';
import { realViolations, servicePortViolation, tunnelProblem } from './service-rules.js';

const family = (address: string, what: string): AddressFamily => {
  const f = ipFamily(address);
  if (f === undefined) {
    throw new LbctlError(
      'DATAPLANE_INVALID_ADDRESS',
      `Cannot use ${what}: '${address}' is not an IP address`,
    );
  }
  return f === 4 ? 'ipv4' : 'ipv6';
};

/** Throws a DATAPLANE_* LbctlError naming the service and the first problem. */
export function validateService(
  capabilities: DataPlaneCapabilities,
  spec: ServiceSpec,
  reals: readonly RealSpec[],
): void {
  const name = serviceName(spec);
  const fail = (reason: string, code: ErrorCode = 'DATAPLANE_INVALID_SERVICE'): never => {
    throw new LbctlError(code, `Cannot set service ${name}: ${reason}`);
  };
  const serviceFamily = family(spec.vip, `service ${name}`);
  if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65535)
    fail(`port ${spec.port} is out of range`);
  const fwmark = spec.fwmark !== undefined;
  if (fwmark) {
    const mark = spec.fwmark;
    if (!Number.isInteger(mark) || mark < 1 || mark > 0xffffffff)
      fail(`firewall mark ${mark} is not between 1 and 4294967295`);
    if (spec.port !== 0 || canonicalAddress(spec.vip) !== fwmarkVip(serviceFamily))
      fail(
        `a fwmark service has address ${fwmarkVip(serviceFamily)} and port 0 (it matches the mark only)`,
      );
  }
  // One walk over the reals (a service has up to thousands), no array per real.
  const forwarding = new Set<Forwarding>();
  const tunnelTypes = new Set<TunnelType>();
  const tunnelChecksums = new Set<TunnelChecksum>();
  let connectionThresholds = false;
  for (const r of reals) {
    forwarding.add(r.forwarding);
    if (r.tunnel !== undefined) {
      tunnelTypes.add(r.tunnel.type);
      if (r.tunnel.checksum !== 'nocsum') tunnelChecksums.add(r.tunnel.checksum);
    }
    if ((r.upperThreshold ?? 0) > 0 || (r.lowerThreshold ?? 0) > 0) connectionThresholds = true;
  }
  const missing = missingCapabilities(capabilities, {
    protocol: spec.protocol,
    scheduler: spec.scheduler,
    ...(spec.hashSourcePort === true ? { hashSourcePort: true } : {}),
    forwarding,
    tunnelTypes,
    tunnelChecksums,
    fwmark,
    allPorts: spec.port === 0 && !fwmark,
    realCount: reals.length,
    connectionThresholds,
  });
  for (const m of missing) {
    fail(
      `${capabilities.title}: ${m.message}`,
      m.field === 'scheduler' ? 'DATAPLANE_UNSUPPORTED_SCHEDULER' : 'DATAPLANE_INVALID_SERVICE',
    );
  }
  const port = fwmark
    ? undefined
    : servicePortViolation(spec.port, spec.persistence !== undefined, 'the service');
  if (port !== undefined) fail(port.message);
  if (spec.persistence !== undefined) {
    const { timeoutS, prefixLength } = spec.persistence;
    if (!Number.isInteger(timeoutS) || timeoutS <= 0 || timeoutS > 0xffffffff)
      fail(`persistence timeout ${timeoutS} is not a positive number of seconds`);
    const max = serviceFamily === 'ipv4' ? 32 : 128;
    if (
      prefixLength !== undefined &&
      (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max)
    ) {
      fail(
        `persistence granularity /${prefixLength} is not a valid ${serviceFamily} prefix length`,
      );
    }
  }
  const seen = new Set<string>();
  for (const r of reals) {
    const what = `real ${r.address}:${r.port}`;
    const realFamily = family(r.address, what);
    const key = `${r.address}|${r.port}`;
    if (seen.has(key)) fail(`${what} is listed twice`);
    seen.add(key);
    if (!Number.isInteger(r.weight) || r.weight < 0 || r.weight > 0xffffffff)
      fail(`${what} has invalid weight ${r.weight}`);
    if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535)
      fail(`${what} has an out-of-range port`);
    checkThreshold(r.upperThreshold, 'upper', what, fail);
    checkThreshold(r.lowerThreshold, 'lower', what, fail);
    if (r.tunnel !== undefined) {
      const problem = tunnelProblem(r.tunnel, r.forwarding);
      if (problem !== undefined) fail(`${what}: ${problem}`);
    }
    const broken = realViolations(
      { family: serviceFamily, port: spec.port, fwmark },
      { family: realFamily, port: r.port, forwarding: r.forwarding, what },
    );
    for (const v of broken) fail(v.message);
  }
}

function checkThreshold(
  value: number | undefined,
  name: 'upper' | 'lower',
  what: string,
  fail: (reason: string) => never,
): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 0xffffffff))
    fail(`${what} has invalid ${name} connection threshold ${value}`);
}

/** Timeouts must be positive, finite seconds. */
export function validateTimeouts(timeouts: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(timeouts)) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw new LbctlError(
        'DATAPLANE_INVALID_TIMEOUT',
        `Cannot set timeouts: ${name} must be a positive number of seconds, got ${String(value)}`,
      );
    }
  }
}

/** The applied service `found` for `key`, or the error every data plane gives for a missing one. */
export function requireApplied<T>(found: T | undefined, key: ServiceKey, action: string): T {
  if (found === undefined) {
    throw new LbctlError(
      'DATAPLANE_NO_SUCH_SERVICE',
      `Cannot ${action}: service ${serviceName(key)} is not configured`,
    );
  }
  return found;
}

/** The error every data plane gives when used after close. */
export function requireOpen(open: boolean): void {
  if (!open) throw new LbctlError('DATAPLANE_CLOSED', 'Cannot use the data plane: it is closed');
}
