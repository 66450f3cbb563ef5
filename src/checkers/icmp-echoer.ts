/**
 * Sends ICMP echo requests. Node has no ICMP socket; the daemon uses
 * RawIcmpEchoer (raw IP sockets from the native addon, which need
 * CAP_NET_RAW, as lbctl has for VRRP anyway).
 */
export interface IcmpEchoer {
  /**
   * Sends one echo request to `address` (optionally from `bindTo`) and
   * resolves with the round-trip time once the matching reply arrives.
   * Rejects when the kernel reports an error (e.g. EHOSTUNREACH) or when
   * `signal` aborts; a lost request simply never resolves before the abort.
   */
  echo(request: EchoRequest): Promise<EchoReply>;
}

export interface EchoRequest {
  readonly address: string;
  readonly bindTo?: string;
  /** Bytes after the ICMP header; the implementation may prefix a sequence number. */
  readonly payload: Buffer;
  readonly signal: AbortSignal;
}

export interface EchoReply {
  readonly rttMs: number;
}
