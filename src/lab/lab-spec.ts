import { LbctlError } from '../errors.js';

/** Addresses of the lab's hosts, for the configuration it generates and for what it prints. */
export interface LabAddresses {
  readonly vip: string;
  readonly client: string;
  /** ECMP lab: the upstream router on the site segment, and on the clients' segment. */
  readonly router?: { readonly site: string; readonly clients: string };
  readonly directors: readonly string[];
  readonly reals: readonly string[];
  readonly prefixLength: number;
}

export interface LabOptions {
  /** Names every namespace, interface, pin and state file (1-8 letters, digits, '-'). */
  readonly prefix: string;
  /** First three octets of the lab's /24, e.g. "10.77.0". */
  readonly subnet: string;
  readonly reals: number;
  readonly directors: number;
  /** Two directors share the VIP by VRRP; without it the first director holds the VIP. */
  readonly vrrp: boolean;
  /**
   * N active directors behind an upstream router: each announces the VIP over BGP (BIRD) and
   * the router spreads flows across them by ECMP; the client sits behind the router.
   */
  readonly ecmp?: boolean;
  /** keepalived.conf virtual_server blocks; defaults to a DR service like the classic tutorial's. */
  readonly virtualServers?: (addresses: LabAddresses) => string;
  /**
   * More keepalived.conf for one director (0-based index), after its virtual servers: e.g. a
   * VRRP instance beside BGP, whose FAULT withdraws the director's routes.
   */
  readonly directorExtraConfig?: (addresses: LabAddresses, director: number) => string;
  /** Ports the real servers answer HTTP on (the sorry server answers on 80). */
  readonly httpPorts?: readonly number[];
  /** Where pid files, logs and generated configurations live. */
  readonly stateDir: string;
  /** The directors' `lbctl_data_plane` (default xdp). */
  readonly dataPlane?: 'auto' | 'xdp' | 'ipvs';
  /** Per director, overriding dataPlane (e.g. one on IPVS, one on XDP, for sync interop). */
  readonly directorDataPlanes?: readonly ('auto' | 'xdp' | 'ipvs')[];
  /** The directors sync connections (keepalived's lvs_sync_daemon on eth0, following VI_1). */
  readonly connectionSync?: boolean;
  /** The directors' `lbctl_connection_table_size` (default lbctl's own). */
  readonly connectionTableSize?: number;
  /** Multiplies the waits for helper processes (default 1; a VM under emulation needs more). */
  readonly timeScale?: number;
}

export const DEFAULT_LAB: LabOptions = {
  prefix: 'lblab',
  subnet: '10.77.0',
  reals: 2,
  directors: 2,
  vrrp: true,
  stateDir: '/run/lbctl/lab',
};

export const VIP_HOST = 100;
export const CLIENT_HOST = 10;
export const DIRECTOR_HOST = 2;
export const REAL_HOST = 11;

export const ROUTER_HOST = 1;

/** The ECMP lab's clients' segment: the /24 after the site's (10.77.0 → 10.77.1). */
export function clientSubnet(subnet: string): string {
  const octets = subnet.split('.').map(Number);
  return `${octets[0]}.${octets[1]}.${((octets[2] ?? 0) + 1) % 256}`;
}

export function labAddresses(options: LabOptions): LabAddresses {
  const at = (n: number) => `${options.subnet}.${n}`;
  const clients = clientSubnet(options.subnet);
  return {
    vip: at(VIP_HOST),
    client: options.ecmp ? `${clients}.${CLIENT_HOST}` : at(CLIENT_HOST),
    ...(options.ecmp
      ? { router: { site: at(ROUTER_HOST), clients: `${clients}.${ROUTER_HOST}` } }
      : {}),
    directors: Array.from({ length: options.directors }, (_, i) => at(DIRECTOR_HOST + i)),
    reals: Array.from({ length: options.reals }, (_, i) => at(REAL_HOST + i)),
    prefixLength: 24,
  };
}

export function validateLabOptions(options: LabOptions): void {
  const fail = (reason: string): never => {
    throw new LbctlError('LAB_INVALID_OPTION', `Cannot build the lab: ${reason}`);
  };
  if (!/^[a-z][a-z0-9-]{0,7}$/.test(options.prefix)) {
    fail(`prefix '${options.prefix}' must be 1-8 lower-case letters, digits or '-'`);
  }
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(options.subnet)) {
    fail(`subnet '${options.subnet}' must be three octets such as 10.77.0`);
  }
  if (!Number.isInteger(options.reals) || options.reals < 1 || options.reals > 8) {
    fail(`reals must be between 1 and 8, got ${options.reals}`);
  }
  if (options.vrrp && options.directors !== 2) fail('VRRP needs two directors');
  if (options.ecmp) {
    if (options.vrrp) fail('the ECMP lab announces the VIP over BGP, without VRRP');
    if (!Number.isInteger(options.directors) || options.directors < 2 || options.directors > 4)
      fail(`an ECMP lab has 2 to 4 directors, got ${options.directors}`);
  } else if (options.directors !== 1 && options.directors !== 2) {
    fail(`directors must be 1 or 2 (more need --ecmp), got ${options.directors}`);
  }
}

/** The lab's hosts by role, in creation order. */
export function labHosts(options: LabOptions): {
  client: string;
  router?: string;
  directors: string[];
  reals: string[];
} {
  return {
    client: 'client',
    ...(options.ecmp ? { router: 'router' } : {}),
    directors: Array.from({ length: options.directors }, (_, i) => `director${i + 1}`),
    reals: Array.from({ length: options.reals }, (_, i) => `rs${i + 1}`),
  };
}
