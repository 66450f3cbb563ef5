/**
 * Label sets shared by every virtual-server and real-server metric, as
 * node_exporter's ipvs collector names them: protocol, local (virtual)
 * address and port, remote (real) address and port, each its own label, so
 * a dashboard joins lbctl's series with each other and with ipvs ones.
 * Addresses are canonical, so health series (from the configuration) and
 * traffic series (from the data plane) carry the same text.
 */
import type { ServiceKey } from '../dataplane/dataplane.js';
import { canonicalAddress } from '../net/address.js';

export const SERVICE_LABELS = ['proto', 'local_address', 'local_port'] as const;
export const REAL_LABELS = [...SERVICE_LABELS, 'remote_address', 'remote_port'] as const;

export type ServiceLabels = Record<(typeof SERVICE_LABELS)[number], string>;
export type RealLabels = Record<(typeof REAL_LABELS)[number], string>;

/** proto is upper case (TCP, UDP, SCTP) as in node_exporter. */
export function serviceLabels(key: ServiceKey): ServiceLabels {
  return {
    proto: key.protocol.toUpperCase(),
    local_address: canonicalAddress(key.vip),
    local_port: String(key.port),
  };
}

export function realLabels(key: ServiceKey, address: string, port: number): RealLabels {
  return {
    ...serviceLabels(key),
    remote_address: canonicalAddress(address),
    remote_port: String(port),
  };
}
