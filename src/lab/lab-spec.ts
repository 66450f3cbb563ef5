import { LbctlError } from '../errors.js';

/** Addresses of the lab's hosts, for the configuration it generates and for what it prints. */
export interface LabAddresses {
  readonly vip: string;
  readonly client: string;
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
  readonly directors: 1 | 2;
  /** Two directors share the VIP by VRRP; without it the first director holds the VIP. */
  readonly vrrp: boolean;
  /** keepalived.conf virtual_server blocks; defaults to a DR service like the classic tutorial's. */
  readonly virtualServers?: (addresses: LabAddresses) => string;
  /** Ports the real servers answer HTTP on (the sorry server answers on 80). */
  readonly httpPorts?: readonly number[];
  /** Where pid files, logs and generated configurations live. */
  readonly stateDir: string;
  /** The directors' `lbctl_data_plane` (default xdp). */
  readonly dataPlane?: 'auto' | 'xdp' | 'ipvs';
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

export function labAddresses(options: LabOptions): LabAddresses {
  const at = (n: number) => `${options.subnet}.${n}`;
  return {
    vip: at(VIP_HOST),
    client: at(CLIENT_HOST),
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
}

/** The lab's hosts by role, in creation order. */
export function labHosts(options: LabOptions): {
  client: string;
  directors: string[];
  reals: string[];
} {
  return {
    client: 'client',
    directors: Array.from({ length: options.directors }, (_, i) => `director${i + 1}`),
    reals: Array.from({ length: options.reals }, (_, i) => `rs${i + 1}`),
  };
}
