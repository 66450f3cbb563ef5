import type { DataPlaneCapabilities } from './capabilities.js';
import type { DataPlaneKind } from './dataplane.js';
import { IPVS_CAPABILITIES } from './ipvs/capabilities.js';
import { XDP_CAPABILITIES } from './xdp/capabilities.js';

/**
 * The data planes this lbctl has, in `dataPlane: auto` preference order. A
 * new data plane joins by adding its capabilities here (and its factory in
 * src/daemon/data-plane-factory.ts).
 */
export const DATA_PLANES: readonly DataPlaneCapabilities[] = [XDP_CAPABILITIES, IPVS_CAPABILITIES];

/** Every kind the configuration may name, whether this lbctl has it or not. */
export const DATA_PLANE_KINDS: readonly DataPlaneKind[] = ['xdp', 'ipvs'];

/** How errors name a kind this lbctl lacks. */
export const DATA_PLANE_TITLES: Readonly<Record<DataPlaneKind, string>> = {
  xdp: 'the XDP data plane',
  ipvs: 'the kernel IPVS data plane',
};

/** The declared capabilities of `kind`. */
export function capabilitiesOf(kind: DataPlaneKind): DataPlaneCapabilities {
  const found = DATA_PLANES.find((p) => p.kind === kind);
  if (found === undefined) throw new Error(`no data plane of kind ${kind} is declared`);
  return found;
}
