import { isIPv6 } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import {
  PLAIN_IPIP,
  type RealSpec,
  type ServiceKey,
  type ServiceSpec,
  serviceIdentity,
} from '../dataplane/dataplane.js';
import { canonicalAddress } from '../net/address.js';
import type { DesiredReal } from './desired-services.js';
import { realKey } from './service-mapping.js';

/** Identifies a service across desired and applied state. */
export function serviceKey(key: ServiceKey): string {
  return serviceIdentity(key);
}

/** Same settings, with the data plane's defaults spelt out (a missing prefix is the full one). */
export function sameServiceSettings(a: ServiceSpec, b: ServiceSpec): boolean {
  const full = () => (isIPv6(a.vip) ? 128 : 32);
  return (
    serviceKey(a) === serviceKey(b) &&
    a.scheduler === b.scheduler &&
    (a.hashSourcePort ?? false) === (b.hashSourcePort ?? false) &&
    (a.schedulerFallback ?? false) === (b.schedulerFallback ?? false) &&
    a.persistence?.timeoutS === b.persistence?.timeoutS &&
    (a.persistence === undefined ||
      (a.persistence.prefixLength ?? full()) === (b.persistence?.prefixLength ?? full()))
  );
}

/** True when `applied` holds exactly `wanted` (weights and forwarding), whatever the next hops. */
export function sameRealsIgnoringNextHop(
  applied: readonly RealSpec[],
  wanted: readonly DesiredReal[],
): boolean {
  if (applied.length !== wanted.length) return false;
  // Mostly both lists hold the same reals in the same order: pair them by index
  // first, and by key (a Map of every real) only when that fails.
  let inOrder = true;
  for (let i = 0; inOrder && i < wanted.length; i++) {
    const a = applied[i]!;
    const w = wanted[i]!;
    inOrder = a.port === w.port && canonicalAddress(a.address) === w.address && sameReal(a, w);
  }
  if (inOrder) return true;
  const byKey = new Map(applied.map((r) => [realKey(canonicalAddress(r.address), r.port), r]));
  return wanted.every((w) => {
    const a = byKey.get(realKey(w.address, w.port));
    return a !== undefined && sameReal(a, w);
  });
}

/** Weight, forwarding, thresholds and tunnel of one real, applied and wanted. */
function sameReal(a: RealSpec, w: DesiredReal): boolean {
  return (
    a.weight === w.weight &&
    a.forwarding === w.forwarding &&
    (a.upperThreshold ?? 0) === (w.upperThreshold ?? 0) &&
    (a.lowerThreshold ?? 0) === (w.lowerThreshold ?? 0) &&
    isDeepStrictEqual(a.tunnel ?? PLAIN_IPIP, w.tunnel ?? PLAIN_IPIP)
  );
}

/** True when both lists hold the same reals with the same next hops, in any order. */
export function sameReals(a: readonly RealSpec[], b: readonly RealSpec[]): boolean {
  if (!sameRealsIgnoringNextHop(a, b)) return false;
  const byKey = new Map(a.map((r) => [realKey(canonicalAddress(r.address), r.port), r]));
  return b.every((r) => {
    const other = byKey.get(realKey(canonicalAddress(r.address), r.port));
    return (
      other?.via?.interface === r.via?.interface &&
      other?.via?.mac.toLowerCase() === r.via?.mac.toLowerCase()
    );
  });
}
