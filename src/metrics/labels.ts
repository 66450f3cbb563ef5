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

export const SERVICE_LABELS = ['proto', 'local_address', 'local_port', 'local_mark'] as const;
export const REAL_LABELS = [...SERVICE_LABELS, 'remote_address', 'remote_port'] as const;

type Labels<T extends readonly string[]> = Record<Exclude<T[number], 'local_mark'>, string> & {
  local_mark?: string;
};
export type ServiceLabels = Labels<typeof SERVICE_LABELS>;
export type RealLabels = Labels<typeof REAL_LABELS>;

/**
 * proto is upper case (TCP, UDP, SCTP) as in node_exporter. A fwmark service
 * is labelled as node_exporter labels one: proto "FWM", no local address,
 * port 0 and local_mark; other series carry no local_mark at all.
 */
export function serviceLabels(key: ServiceKey): ServiceLabels {
  if (key.fwmark !== undefined) {
    return { proto: 'FWM', local_address: '', local_port: '0', local_mark: String(key.fwmark) };
  }
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
