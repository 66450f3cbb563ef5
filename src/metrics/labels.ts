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
import { escapeLabelValue, labelText } from './metric-family.js';

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

/**
 * The label text (`proto="TCP",local_address=...`) of services and reals,
 * each made once per scrape and shared by every family that labels a series
 * with it: about 32,000 reals at scale, in up to nine families. Looked up by
 * the strings and numbers the sources already hold, so that a lookup builds
 * no new string.
 */
export class LabelTexts {
  private readonly services = new Map<string, ServiceLabelTexts>();

  /** The texts of service `key` and its reals. */
  of(key: ServiceKey): ServiceLabelTexts {
    // The key as written: spellings of one address get separate entries with the same text.
    const id = `${key.fwmark ?? ''}|${key.protocol}|${key.vip}|${key.port}`;
    let texts = this.services.get(id);
    if (texts === undefined) {
      texts = new ServiceLabelTexts(labelText(serviceLabels(key)));
      this.services.set(id, texts);
    }
    return texts;
  }
}

export class ServiceLabelTexts {
  private readonly reals = new Map<string, Map<number, string>>();

  constructor(readonly text: string) {}

  /** The text of real address:port of this service. */
  real(address: string, port: number): string {
    let ports = this.reals.get(address);
    if (ports === undefined) {
      ports = new Map();
      this.reals.set(address, ports);
    }
    let text = ports.get(port);
    if (text === undefined) {
      text = `${this.text},remote_address="${escapeLabelValue(canonicalAddress(address))}",remote_port="${port}"`;
      ports.set(port, text);
    }
    return text;
  }
}
