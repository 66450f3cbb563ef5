/**
 * The LVS rules every data plane shares (they are IPVS's own), stated once:
 * configuration validation, the service mapping and each data plane's
 * checks on write all call these.
 */
import type { AddressFamily } from '../net/address.js';
import type { Forwarding, TunnelEncapsulation } from './dataplane.js';

/** Where a rule was broken: the service's port, or a real's address or port. */
export interface RuleViolation {
  readonly field: 'port' | 'address';
  readonly message: string;
}

/** An all-ports service (port 0) is only meaningful with persistence (ipvsadm refuses it too). */
export function servicePortViolation(
  port: number,
  persistent: boolean,
  what: string,
): RuleViolation | undefined {
  if (port !== 0 || persistent) return undefined;
  return { field: 'port', message: `${what} needs a port unless it is persistent` };
}

/**
 * Rules between a service and one of its reals. `serviceFamily` is undefined
 * when the service has several addresses (a group): the family is checked
 * per address then. `servicePort` 0 is an all-ports service. On a fwmark
 * service a NAT real may leave its port out: the packet's destination port
 * is kept (ipvsadm and keepalived accept it).
 */
export function realViolations(
  service: {
    readonly family: AddressFamily | undefined;
    readonly port: number;
    readonly fwmark?: boolean;
  },
  real: {
    readonly family: AddressFamily;
    readonly port: number;
    readonly forwarding: Forwarding;
    readonly what: string;
  },
): RuleViolation[] {
  const out: RuleViolation[] = [];
  const { what, forwarding } = real;
  if (service.family !== undefined && forwarding !== 'tun' && real.family !== service.family) {
    out.push({
      field: 'address',
      message: `${what} is ${real.family} but the service is ${service.family}; only TUN may mix families`,
    });
  }
  if (forwarding === 'nat') {
    if (real.port === 0 && service.fwmark !== true)
      out.push({ field: 'port', message: `${what}: NAT needs the real's port` });
  } else if (service.port !== 0 && real.port !== 0 && real.port !== service.port) {
    out.push({
      field: 'port',
      message:
        `${what}: ${forwarding.toUpperCase()} forwarding cannot change the port ` +
        `(${service.port} -> ${real.port}); use NAT or the same port`,
    });
  }
  return out;
}

/**
 * What is wrong with a TUN real's encapsulation, by keepalived 2.2.7's rules
 * (check_parser.c), which are the kernel's: GUE and only GUE has a port,
 * IPIP has no checksum option, GRE no remote checksum offload.
 */
export function tunnelProblem(
  tunnel: TunnelEncapsulation,
  forwarding: Forwarding,
): string | undefined {
  if (forwarding !== 'tun') return 'tunnel options apply to TUN forwarding only';
  const { type, port, checksum } = tunnel;
  if (type === 'gue' && port === undefined) return 'a GUE tunnel needs a port';
  if (type !== 'gue' && port !== undefined) return `a ${type.toUpperCase()} tunnel has no port`;
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    return `tunnel port ${port} is not between 1 and 65535`;
  if (type === 'ipip' && checksum !== 'nocsum')
    return `an IPIP tunnel has no checksum option (${checksum})`;
  if (type === 'gre' && checksum === 'remcsum')
    return 'a GRE tunnel cannot use remote checksum offload (remcsum)';
  return undefined;
}

/**
 * The port a real serves for a service: NAT translates to the real's; DR and
 * TUN keep the VIP's (0 on a fwmark service: keepalived 2.2.7 hands IPVS port
 * 0 there too, whatever the real_server line says).
 */
export function realPort(
  service: { port: number },
  real: { port: number; forwarding: Forwarding },
) {
  return real.forwarding === 'nat' ? real.port : service.port;
}
