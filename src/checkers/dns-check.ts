import { randomInt } from 'node:crypto';
import { formatEndpoint } from '../net/endpoint.js';
import { DNS_RCODE_NAMES, decodeResponse, dnsTypeCode, encodeQuery } from './dns-message.js';
import type { Checker, CheckResult, ConnectOptions } from './types.js';
import { udpExchange } from './udp-exchange.js';

export interface DnsCheckOptions extends ConnectOptions {
  /** Query type; keepalived's default is SOA. */
  readonly type?: string;
  /** Name to query; keepalived's default is "." (the root). */
  readonly name?: string;
}

/**
 * DNS_CHECK: one query over UDP. Up when the response carries our id,
 * RCODE NOERROR and at least one answer record of the queried type.
 */
export class DnsChecker implements Checker {
  readonly kind = 'DNS_CHECK';
  readonly target: string;
  readonly timeoutMs: number;
  private readonly typeName: string;
  private readonly typeCode: number;
  private readonly name: string;

  constructor(private readonly options: DnsCheckOptions) {
    this.typeName = (options.type ?? 'SOA').toUpperCase();
    this.typeCode = dnsTypeCode(this.typeName);
    this.name = options.name ?? '.';
    // Validate the name now rather than at the first check.
    encodeQuery(0, this.name, this.typeCode);
    this.target = formatEndpoint(options.connectIp, options.connectPort);
    this.timeoutMs = options.connectTimeoutMs;
  }

  check(signal: AbortSignal): Promise<CheckResult> {
    const id = randomInt(0, 0x10000);
    const query = encodeQuery(id, this.name, this.typeCode);
    return udpExchange<CheckResult>(this.options, query, signal, (reply) => {
      const response = decodeResponse(reply);
      // A late answer to an earlier query is not ours; keep waiting.
      if (response.id !== id || !response.isResponse) return { done: false };
      if (response.rcode !== 0) {
        const rcode = DNS_RCODE_NAMES[response.rcode] ?? `RCODE ${response.rcode}`;
        return { done: true, value: { ok: false, reason: `answer ${rcode}` } };
      }
      if (!response.answerTypes.includes(this.typeCode)) {
        return {
          done: true,
          value: { ok: false, reason: `no ${this.typeName} record for ${this.name}` },
        };
      }
      return { done: true, value: { ok: true } };
    });
  }
}
