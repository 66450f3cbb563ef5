import type { InitialVrrpState } from '../config/model.js';
import { LbctlError } from '../errors.js';
import { canonicalAddress, ipFamily } from '../net/address.js';
import { DEFAULT_GARP_SETTINGS, type GarpSettings } from './garp.js';
import type { AddressScope, IpFamily, VirtualAddress, VirtualRoute } from './io.js';
import type { NotifyCommands } from './notify.js';
import { type AuthType, passwordBytes } from './packet.js';

/** One `virtual_ipaddress` entry. */
export interface VipOptions {
  readonly address: string;
  /** Default 32 (IPv4) / 128 (IPv6), as keepalived. */
  readonly prefixLength?: number;
  readonly dev?: string;
  readonly label?: string;
  readonly scope?: AddressScope;
  readonly broadcast?: string;
}

/** A tracked script or file named by the engine's definitions, with optional overrides. */
export interface TrackReference {
  readonly name: string;
  readonly weight?: number;
  readonly reverse?: boolean;
}

export interface TrackInterfaceOptions {
  readonly interface: string;
  /** Default 0: FAULT while the link is down. */
  readonly weight?: number;
  readonly reverse?: boolean;
}

/** One VRRP instance (keepalived `vrrp_instance`), with keepalived's names. */
export interface VrrpInstanceOptions {
  readonly name: string;
  readonly interface: string;
  readonly virtualRouterId: number;
  /** 1..255, default 100; 255 is the address owner. */
  readonly priority?: number;
  /** keepalived `state`; below priority 255 it does not skip the election (see docs). */
  readonly initialState?: InitialVrrpState;
  /** Default 2 for IPv4, 3 (required) for IPv6. */
  readonly version?: 2 | 3;
  /** Default 1000; v2 whole seconds 1..255 s, v3 10 ms steps up to 40.95 s. */
  readonly advertIntMs?: number;
  readonly nopreempt?: boolean;
  readonly preemptDelayMs?: number;
  /** mcast_src_ip / unicast_src_ip; default the interface's primary address. */
  readonly sourceIp?: string;
  readonly unicastPeers?: readonly string[];
  readonly checkUnicastSource?: boolean;
  /** Only 'none' and 'pass' are supported; AH is refused. */
  readonly authType?: AuthType | 'ah';
  readonly authPass?: string;
  /** v3 over IPv4: checksum without the pseudo-header, as some old peers do. */
  readonly v3ChecksumAsV2?: boolean;
  readonly skipCheckAdvAddr?: boolean;
  /** Master stays silent on lower priority adverts (RFC behaviour). */
  readonly lowerPrioNoAdvert?: boolean;
  /** Master sends one advert before yielding to a higher priority one. */
  readonly higherPrioSendAdvert?: boolean;
  /** keepalived tracks the instance's own interface (FAULT while it is down) unless dont_track_primary. */
  readonly trackPrimary?: boolean;
  readonly vips: readonly VipOptions[];
  /**
   * keepalived `virtual_ipaddress_excluded`: managed like `vips` but never
   * advertised, so any address family may appear here.
   */
  readonly excludedVips?: readonly VipOptions[];
  readonly virtualRoutes?: readonly VirtualRoute[];
  readonly garp?: Partial<GarpSettings>;
  readonly trackScripts?: readonly TrackReference[];
  readonly trackFiles?: readonly TrackReference[];
  readonly trackInterfaces?: readonly TrackInterfaceOptions[];
  readonly notify?: NotifyCommands;
}

/** Options after defaults and validation; addresses canonical. */
export interface ResolvedInstanceOptions {
  readonly name: string;
  readonly interface: string;
  readonly family: IpFamily;
  readonly virtualRouterId: number;
  readonly priority: number;
  readonly initialState: InitialVrrpState;
  readonly version: 2 | 3;
  readonly advertIntMs: number;
  readonly nopreempt: boolean;
  readonly preemptDelayMs: number;
  readonly sourceIp: string | undefined;
  readonly unicastPeers: readonly string[];
  readonly checkUnicastSource: boolean;
  readonly authType: AuthType;
  readonly authData: Buffer | undefined;
  readonly v3ChecksumAsV2: boolean;
  readonly skipCheckAdvAddr: boolean;
  readonly lowerPrioNoAdvert: boolean;
  readonly higherPrioSendAdvert: boolean;
  readonly trackPrimary: boolean;
  readonly vips: readonly VirtualAddress[];
  readonly excludedVips: readonly VirtualAddress[];
  readonly virtualRoutes: readonly VirtualRoute[];
  readonly garp: GarpSettings;
  readonly trackScripts: readonly TrackReference[];
  readonly trackFiles: readonly TrackReference[];
  readonly trackInterfaces: readonly TrackInterfaceOptions[];
  readonly notify: NotifyCommands;
  /** Settings ignored the way keepalived ignores them, for the log. */
  readonly warnings: readonly string[];
}

function invalid(name: string, message: string): LbctlError {
  return new LbctlError(
    'VRRP_INVALID_OPTION',
    `Cannot configure VRRP instance ${name}: ${message}`,
  );
}

function integerIn(name: string, field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `${field} ${value} is not an integer in ${min}..${max}`);
  }
  return value;
}

export function resolveInstanceOptions(options: VrrpInstanceOptions): ResolvedInstanceOptions {
  const name = options.name;
  const warnings: string[] = [];
  integerIn(name, 'virtual_router_id', options.virtualRouterId, 1, 255);
  const priority = integerIn(name, 'priority', options.priority ?? 100, 1, 255);
  if (options.vips.length > 255) throw invalid(name, 'more than 255 virtual addresses');
  // Without addresses the family comes from the source or a peer, else IPv4 (as keepalived).
  const familyFrom = options.vips[0]?.address ?? options.sourceIp ?? options.unicastPeers?.[0];
  const family = familyFrom === undefined ? 4 : ipFamily(familyFrom);
  if (family === undefined) throw invalid(name, `"${familyFrom}" is not an IP address`);
  const vips = options.vips.map((vip, index): VirtualAddress => {
    if (ipFamily(vip.address) !== family) {
      throw invalid(name, `virtual_ipaddress #${index + 1} ${vip.address} is not IPv${family}`);
    }
    return virtualAddress(name, options.interface, vip, family);
  });
  const excludedVips = (options.excludedVips ?? []).map((vip, index): VirtualAddress => {
    const own = ipFamily(vip.address);
    if (own === undefined) {
      throw invalid(
        name,
        `virtual_ipaddress_excluded #${index + 1} "${vip.address}" is not an IP address`,
      );
    }
    return virtualAddress(name, options.interface, vip, own);
  });
  const version = options.version ?? (family === 6 ? 3 : 2);
  if (version !== 2 && version !== 3)
    throw invalid(name, `version ${String(version)} is not 2 or 3`);
  if (family === 6 && version === 2) throw invalid(name, 'VRRP version 2 does not support IPv6');
  if (vips.length === 0) {
    // keepalived 2.2.7: refused for v3, run with a warning (empty adverts) for v2.
    if (version === 3) throw invalid(name, 'No VIP specified; VRRP version 3 requires one');
    warnings.push('No VIP specified; adverts carry no address');
  }
  const advertIntMs = options.advertIntMs ?? 1000;
  if (version === 2 && (advertIntMs % 1000 !== 0 || advertIntMs < 1000 || advertIntMs > 255_000)) {
    throw invalid(name, `advert_int ${advertIntMs / 1000}s must be whole seconds 1..255 in v2`);
  }
  if (version === 3 && (advertIntMs % 10 !== 0 || advertIntMs < 10 || advertIntMs > 40_950)) {
    throw invalid(name, `advert_int ${advertIntMs / 1000}s must be 0.01..40.95 s in 10 ms steps`);
  }
  const authType = options.authType ?? (options.authPass === undefined ? 'none' : 'pass');
  if (authType === 'ah') {
    throw invalid(name, 'auth_type AH is not supported (use PASS or none)');
  }
  if (authType === 'pass' && version === 3)
    throw invalid(name, 'VRRP version 3 has no authentication');
  if (authType === 'pass' && options.authPass === undefined)
    throw invalid(name, 'auth_type PASS without auth_pass');
  const authData = authType === 'pass' ? passwordBytes(options.authPass ?? '') : undefined;
  const addressOf = (field: string, value: string): string => {
    if (ipFamily(value) !== family)
      throw invalid(name, `${field} ${value} is not an IPv${family} address`);
    return canonicalAddress(value);
  };
  const unicastPeers = (options.unicastPeers ?? []).map((p) => addressOf('unicast_peer', p));
  const sourceIp =
    options.sourceIp === undefined ? undefined : addressOf('source address', options.sourceIp);
  const initialState = options.initialState ?? (priority === 255 ? 'MASTER' : 'BACKUP');
  let nopreempt = options.nopreempt ?? false;
  let preemptDelayMs = options.preemptDelayMs ?? 0;
  if (preemptDelayMs < 0 || preemptDelayMs > 1_000_000)
    throw invalid(name, 'preempt_delay must be 0..1000 s');
  if (initialState === 'MASTER' && nopreempt) {
    warnings.push('nopreempt does not work with initial state MASTER: ignored');
    nopreempt = false;
  }
  if (initialState === 'MASTER' && preemptDelayMs > 0) {
    warnings.push('preempt_delay does not work with initial state MASTER: ignored');
    preemptDelayMs = 0;
  }
  const trackInterfaces = (options.trackInterfaces ?? []).map((t) => {
    integerIn(name, `weight of track_interface ${t.interface}`, t.weight ?? 0, -253, 253);
    return t;
  });
  return {
    name,
    interface: options.interface,
    family,
    virtualRouterId: options.virtualRouterId,
    priority,
    initialState,
    version,
    advertIntMs,
    nopreempt,
    preemptDelayMs,
    sourceIp,
    unicastPeers,
    checkUnicastSource: options.checkUnicastSource ?? false,
    authType,
    authData,
    v3ChecksumAsV2: options.v3ChecksumAsV2 ?? false,
    skipCheckAdvAddr: options.skipCheckAdvAddr ?? false,
    lowerPrioNoAdvert: options.lowerPrioNoAdvert ?? false,
    higherPrioSendAdvert: options.higherPrioSendAdvert ?? false,
    trackPrimary: options.trackPrimary ?? true,
    vips,
    excludedVips,
    virtualRoutes: options.virtualRoutes ?? [],
    garp: resolveGarp(options.garp),
    trackScripts: options.trackScripts ?? [],
    trackFiles: options.trackFiles ?? [],
    trackInterfaces,
    notify: options.notify ?? {},
    warnings,
  };
}

function virtualAddress(
  name: string,
  defaultDev: string,
  vip: VipOptions,
  family: 4 | 6,
): VirtualAddress {
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixLength = integerIn(
    name,
    `prefix of ${vip.address}`,
    vip.prefixLength ?? maxPrefix,
    0,
    maxPrefix,
  );
  return {
    address: canonicalAddress(vip.address),
    prefixLength,
    dev: vip.dev ?? defaultDev,
    ...(vip.label === undefined ? {} : { label: vip.label }),
    ...(vip.scope === undefined ? {} : { scope: vip.scope }),
    ...(vip.broadcast === undefined ? {} : { broadcast: vip.broadcast }),
  };
}

function resolveGarp(garp: Partial<GarpSettings> | undefined): GarpSettings {
  const masterDelayMs = garp?.masterDelayMs ?? DEFAULT_GARP_SETTINGS.masterDelayMs;
  const masterRepeat = garp?.masterRepeat ?? DEFAULT_GARP_SETTINGS.masterRepeat;
  return {
    masterDelayMs,
    masterRepeat,
    masterRefreshMs: garp?.masterRefreshMs ?? DEFAULT_GARP_SETTINGS.masterRefreshMs,
    masterRefreshRepeat: garp?.masterRefreshRepeat ?? DEFAULT_GARP_SETTINGS.masterRefreshRepeat,
    lowerPrioDelayMs: garp?.lowerPrioDelayMs ?? masterDelayMs,
    lowerPrioRepeat: garp?.lowerPrioRepeat ?? masterRepeat,
    intervalMs: garp?.intervalMs ?? DEFAULT_GARP_SETTINGS.intervalMs,
  };
}
